// Tutorial §4(B), handling errors in coroutines: an exception thrown in an awaited
// task comes out of the co_await, where try/catch handles it.
//
//     async def fail_coroutine():
//         await asyncio.sleep(1)
//         raise ValueError("Something went wrong")
//
//     async def main():
//         try:
//             await fail_coroutine()
//         except ValueError as e:
//             print(f"Error: {e}")
//
//     asyncio.run(main())  # Output: Error: Something went wrong
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>

weft::task<> fail_coroutine() {
    co_await weft::sleep_for(std::chrono::seconds(1));
    throw std::invalid_argument("Something went wrong");  // Python's ValueError
}

weft::task<> main_task() {
    try {
        co_await fail_coroutine();
    } catch (const std::invalid_argument& e) {
        std::printf("Error: %s\n", e.what());
    }
}

int main() { weft::run(main_task()); }
