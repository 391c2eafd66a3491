// A user program built against the installed weft only (pkg-config or CMake):
// touches every core contract name once.
#include <weft/weft.hpp>

#include <chrono>
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
    weft::inplace_vector<weft::task<int>, 4> few;
    for (int i = 1; i <= 3; ++i) few.push_back(square(i));
    for (int v : co_await weft::when_all(std::move(few))) sum -= v;
    auto h = weft::spawn(square(5));
    co_return a + b + sum + co_await h + 14;  // 9 + 16 + (285 - 14) + 25 + 14
}

weft::task<int> forever() {
    for (;;) co_await weft::sleep_for(std::chrono::milliseconds(1));
}

// The sync layer: every name once; gives 42 when each behaves.
weft::task<int> sync_body() {
    weft::mutex m;
    weft::semaphore s(2);
    weft::event e;
    weft::wait_group wg;
    weft::channel<int> ch(4);
    int total = 0;
    {
        auto g = co_await m.lock();
        total += m.try_lock() ? 100 : 1;  // held: try_lock fails
    }
    co_await s.acquire();
    total += s.try_acquire() ? 1 : 100;
    s.release(2);
    e.set();
    co_await e.wait();
    wg.add(1);
    wg.done();
    co_await wg.wait();
    co_await ch.send(10);
    ch.close();
    total += *co_await ch.recv();         // 10
    total += (co_await ch.recv()) ? 100 : 0;
    try {
        co_await ch.send(1);
    } catch (const weft::channel_closed&) {
        total += 10;
    }
    auto [index, value] = co_await weft::when_any(forever(), square(2));
    total += static_cast<int>(index) + std::get<1>(value);  // 1 + 4
    weft::event never;  // timeout takes a sync awaiter as it is
    const bool was_set = co_await weft::timeout(std::chrono::milliseconds(1), never.wait());
    total += was_set ? 100 : 0;
    auto h = weft::spawn(forever());
    h.cancel();
    try {
        co_await h;
    } catch (const weft::cancelled&) {
        total += 10;
    }
    weft::task_group group;
    group.spawn(nothing());
    co_await group.join();
    co_return total + 5;  // 1 + 1 + 10 + 10 + 5 + 10 + 5
}

}  // namespace

int main() {
    weft::config cfg = weft::config::from_env();
    cfg.workers = 2;
    weft::runtime rt(cfg);
    const int got = rt.block_on(body());
    const int synced = rt.block_on(sync_body());
    int gen = 0;
    for (int v : count_up_to(5) | std::views::transform([](int x) { return x * 10; })) gen += v;
    bool config_rejected = false;
    try {
        weft::runtime bad(weft::config{.workers = 0});
    } catch (const weft::config_error&) {
        config_rejected = true;
    }
    const bool ok = got == 335 && synced == 42 && gen == 150 && config_rejected && weft::run(square(7)) == 49;
    std::printf("consumer: %s\n", ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
