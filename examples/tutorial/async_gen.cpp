// The tutorial's async generator: yields 0..4, one second apart; the consumer
// awaits each value (Python's `async for`).
//
//     async def async_gen():
//         for i in range(5):
//             await asyncio.sleep(1)
//             yield i
//
//     async def main():
//         async for value in async_gen():
//             print(value)
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

weft::async_generator<int> async_gen() {
    for (int i = 0; i < 5; ++i) {
        co_await weft::sleep_for(std::chrono::seconds(1));
        co_yield i;
    }
}

weft::task<> consume() {
    auto gen = async_gen();
    while (std::optional<int> value = co_await gen.next()) std::printf("%d\n", *value);
}

int main() { weft::run(consume()); }
