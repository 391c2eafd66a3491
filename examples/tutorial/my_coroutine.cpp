// The tutorial's first coroutine: print, sleep one second without blocking the
// worker, print again.
//
//     async def my_coroutine():
//         print("Start Coroutine")
//         await asyncio.sleep(1)  # Non-blocking sleep
//         print("End Coroutine")
//
//     asyncio.run(my_coroutine())
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

weft::task<> my_coroutine() {
    std::puts("Start Coroutine");
    co_await weft::sleep_for(std::chrono::seconds(1));  // the worker runs other tasks meanwhile
    std::puts("End Coroutine");
}

int main() { weft::run(my_coroutine()); }
