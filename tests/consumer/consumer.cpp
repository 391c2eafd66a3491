// A user program built against the installed weft only (pkg-config or CMake):
// touches every core contract name once.
#include <weft/weft.hpp>

#include <cstdio>
#include <ranges>
#include <string>
#include <variant>

namespace {

weft::generator<int> count_up_to(int n) {
    for (int i = 1; i <= n; ++i) co_yield i;
}

weft::task<int> square(int x) {
    co_await weft::yield();
    co_return x * x;
}

weft::task<void> nothing() { co_return; }

weft::task<int> body() {
    auto [a, b, c] = co_await weft::when_all(square(3), square(4), nothing());
    static_assert(std::is_same_v<decltype(c), std::monostate>);
    std::vector<weft::task<int>> many;
    for (int i = 0; i < 10; ++i) many.push_back(square(i));
    int sum = 0;
    for (int v : co_await weft::when_all(std::move(many))) sum += v;
    auto h = weft::spawn(square(5));
    co_return a + b + sum + co_await h;  // 9 + 16 + 285 + 25
}

}  // namespace

int main() {
    weft::config cfg = weft::config::from_env();
    cfg.workers = 2;
    weft::runtime rt(cfg);
    const int got = rt.block_on(body());
    int gen = 0;
    for (int v : count_up_to(5) | std::views::transform([](int x) { return x * 10; })) gen += v;
    bool config_rejected = false;
    try {
        weft::runtime bad(weft::config{.workers = 0});
    } catch (const weft::config_error&) {
        config_rejected = true;
    }
    const bool ok = got == 335 && gen == 150 && config_rejected && weft::run(square(7)) == 49;
    std::printf("consumer: %s\n", ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
