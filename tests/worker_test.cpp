// The worker loop's scheduling rules: the LIFO slot keeps a woken task on its
// worker, the injector is polled every global_queue_interval ticks so outside
// work is served under a flood of local work, and an idle runtime sleeps.
#include "test_support.hpp"

#include <weft/weft.hpp>

#include <catch2/catch.hpp>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace {

// Suspends the awaiting task and wakes it again at once through the worker's LIFO
// slot, as a timer or I/O completion handled on this worker would.
struct wake_through_lifo_slot {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const {
        weft::detail::schedule_woken(*weft::detail::tls_worker, h);
    }
    void await_resume() const noexcept {}
};

weft::task<int> count_thread_moves(int rounds) {
    int moves = 0;
    for (int i = 0; i < rounds; ++i) {
        const auto before = std::this_thread::get_id();
        // Local work a sibling could steal, so the other worker stays busy searching.
        auto sibling = weft::spawn([]() -> weft::task<void> { co_return; }());
        co_await wake_through_lifo_slot{};
        if (std::this_thread::get_id() != before) ++moves;
        co_await sibling;
    }
    co_return moves;
}

// Each generation spawns the next and finishes, so the worker always finds local
// work: only the fairness poll lets it look at the injector.
weft::task<void> flood(std::shared_ptr<std::atomic<bool>> stop, std::shared_ptr<std::atomic<long>> generations) {
    generations->fetch_add(1);
    if (!stop->load()) weft::spawn(flood(stop, generations)).detach();
    co_return;
}

}  // namespace

TEST_CASE("a task woken through the LIFO slot resumes on the same worker") {
    weft::runtime rt(weft_test::make_config(2));
    // A deque item could be stolen by the other worker; the LIFO slot cannot.
    CHECK(rt.block_on(count_thread_moves(static_cast<int>(weft_test::scaled(2000)))) == 0);
}

TEST_CASE("outside submissions are served while a worker always has local work") {
    const std::int64_t frames_before = weft_test::live_frames();
    {
        weft::runtime rt(weft::config{.workers = 1, .global_queue_interval = 31});
        auto stop = std::make_shared<std::atomic<bool>>(false);
        auto generations = std::make_shared<std::atomic<long>>(0);
        auto h = rt.spawn(flood(stop, generations));
        h.detach();
        REQUIRE(weft_test::eventually([&] { return generations->load() > 1000; }));
        // block_on's root goes to the injector; the worker never runs out of local
        // work, so only the every-31-ticks poll can start it. If the poll were
        // missing this would hang: the watchdog turns that into a failure.
        weft_test::watchdog guard("fairness poll of the injector", std::chrono::seconds(60));
        rt.block_on([](std::shared_ptr<std::atomic<bool>> s) -> weft::task<void> {
            s->store(true);
            co_return;
        }(stop));
        CHECK(stop->load());
    }
    CHECK(weft_test::live_frames() == frames_before);
}

TEST_CASE("an idle runtime uses almost no CPU") {
    weft::runtime rt(weft_test::make_config(2));
    rt.block_on([]() -> weft::task<void> { co_return; }());
    REQUIRE(weft_test::eventually([&] { return weft::detail::parked_workers(rt) == rt.workers(); }));
    const double used = weft_test::cpu_seconds_over_one_second();
    INFO("CPU seconds used by an idle runtime over one second: " << used);
    // Two spinning workers would use ~2 s; parked ones use ~0. Generous bound.
    CHECK(used < 0.25);
}

TEST_CASE("pin_workers pins each worker thread to one allowed CPU") {
    weft::runtime rt(weft::config{.workers = 2, .pin_workers = true});
    const int cpus_allowed = rt.block_on([]() -> weft::task<int> {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof set, &set) != 0) co_return -1;
        co_return CPU_COUNT(&set);
    }());
    CHECK(cpus_allowed == 1);
}

namespace {

// yield()s until `stop`, at most `cap` times; gives how many.
weft::task<long> yield_loop(const std::atomic<bool>& stop, long cap) {
    long n = 0;
    while (!stop.load() && n < cap) {
        ++n;
        co_await weft::yield();
    }
    co_return n;
}

}  // namespace

TEST_CASE("with global_queue_interval 1, a yield() loop does not starve a timer on its worker") {
    // Every turn polls the injector first, where the yielding task always is; the
    // task the timer wakes waits in the LIFO slot. Before the fix only the loop
    // ran, until its cap: the sleep then ended after it instead of during it.
    constexpr long k_cap = 2'000'000;
    weft::runtime rt(weft::config{.workers = 1, .global_queue_interval = 1});
    const long yields = rt.block_on([]() -> weft::task<long> {
        std::atomic<bool> stop{false};
        weft::join_handle<long> loop = weft::spawn(yield_loop(stop, k_cap));
        co_await weft::sleep_for(std::chrono::milliseconds(2));
        stop.store(true);
        co_return co_await loop;
    }());
    CHECK(yields < k_cap);
}
