// Tutorial §4(A), running coroutines concurrently: asyncio.gather -> when_all.
//
//     async def coroutine_one():
//         await asyncio.sleep(2)
//         print("Coroutine One")
//
//     async def coroutine_two():
//         await asyncio.sleep(1)
//         print("Coroutine Two")
//
//     async def main():
//         await asyncio.gather(coroutine_one(), coroutine_two())
//
//     asyncio.run(main())
//     # Output: Coroutine Two, Coroutine One
//
// Both run at once (on any of the runtime's workers), so the whole takes about 2
// seconds, not 3, and the one that sleeps less prints first.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

weft::task<> coroutine_one() {
    co_await weft::sleep_for(2s);
    std::puts("Coroutine One");
}

weft::task<> coroutine_two() {
    co_await weft::sleep_for(1s);
    std::puts("Coroutine Two");
}

weft::task<> main_task() { co_await weft::when_all(coroutine_one(), coroutine_two()); }

int main() { weft::run(main_task()); }
