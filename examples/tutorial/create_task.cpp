// Tutorial §4(C), task management: asyncio.create_task -> weft::spawn. The task
// starts at once and runs concurrently; awaiting the handle waits for it.
//
//     async def task_example():
//         await asyncio.sleep(2)
//         print("Task Completed")
//
//     async def main():
//         task = asyncio.create_task(task_example())
//         await task  # Wait for task to complete
//
//     asyncio.run(main())
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

weft::task<> task_example() {
    co_await weft::sleep_for(std::chrono::seconds(2));
    std::puts("Task Completed");
}

weft::task<> main_task() {
    auto task = weft::spawn(task_example());  // already running, maybe on another worker
    co_await task;                            // wait for it to complete
}

int main() { weft::run(main_task()); }
