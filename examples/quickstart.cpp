// The README's example: asyncio's gather and create_task, the weft way.
#include <weft/weft.hpp>

#include <cstdio>
#include <string>

weft::task<std::string> greet(std::string name) {
    co_await weft::yield();  // let other tasks run, like `await asyncio.sleep(0)`
    co_return "hello, " + name;
}

weft::task<std::uint64_t> fib(int n) {
    if (n < 2) co_return n;
    auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));  // asyncio.gather
    co_return a + b;
}

weft::task<int> main_task() {
    auto background = weft::spawn(fib(30));                          // asyncio.create_task
    auto [x, y] = co_await weft::when_all(greet("generators"), greet("coroutines"));
    std::printf("%s / %s\n", x.c_str(), y.c_str());
    std::printf("fib(30) = %llu\n", static_cast<unsigned long long>(co_await background));
    co_return 0;
}

int main() { return weft::run(main_task()); }  // asyncio.run
