// Smoke tests while the core comes up.
#include <weft/weft.hpp>

#include <catch2/catch.hpp>

namespace {
weft::task<int> answer() { co_return 42; }
weft::task<std::uint64_t> fib(int n) {
    if (n < 2) co_return static_cast<std::uint64_t>(n);
    auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
    co_return a + b;
}
}  // namespace

TEST_CASE("block_on gives the task's result") {
    weft::runtime rt(weft::config{.workers = 2});
    REQUIRE(rt.block_on(answer()) == 42);
    REQUIRE(rt.block_on(fib(20)) == 6765);
}
