// Tests for weft::runtime and weft::run: construction and validation, block_on
// (results, exceptions, misuse from a worker, many callers at once), yield
// fairness, parking when idle, and shutdown without leaks or hangs.
#include <weft/detail/asymmetric_fence.hpp>
#include <weft/event.hpp>
#include <weft/runtime.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/when_all.hpp>
#include <weft/when_any.hpp>
#include <weft/yield.hpp>

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using weft_test::counted;
using weft_test::eventually;
using weft_test::lifetime_counts;
using weft_test::live_frames;
using weft_test::make_config;

using weft_test::test_error;

weft::task<int> answer() { co_return 42; }

weft::task<int> fails(std::string what) {
    co_await weft::yield();
    throw test_error(what);
    co_return 0;
}

weft::task<std::uint64_t> fib(int n) {
    if (n < 2) co_return static_cast<std::uint64_t>(n);
    auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
    co_return a + b;
}

struct nested_block_on_seen {
    bool threw = false;
    bool other_runtime_threw = false;
    std::string message;
};

// block_on on a worker would block that worker; the task must get usage_error,
// for its own runtime and for any other.
weft::task<nested_block_on_seen> block_on_from_worker(weft::runtime& own, weft::runtime& other) {
    nested_block_on_seen seen;
    try {
        (void)own.block_on(answer());
    } catch (const weft::usage_error& e) {
        seen.threw = true;
        seen.message = e.what();
    }
    try {
        (void)other.block_on(answer());
    } catch (const weft::usage_error&) {
        seen.other_runtime_threw = true;
    }
    co_return seen;
}

weft::task<void> append_with_yields(std::vector<int>& log, int id, int n) {
    for (int i = 0; i < n; ++i) {
        log.push_back(id);
        co_await weft::yield();
    }
}

weft::task<void> two_spawned_yielders(std::vector<int>& log, int n) {
    weft::join_handle<void> a = weft::spawn(append_with_yields(log, 1, n));
    weft::join_handle<void> b = weft::spawn(append_with_yields(log, 2, n));
    co_await a;
    co_await b;
}

weft::task<bool> wait_for(const std::atomic<bool>& flag) {
    for (long i = 0; i < 10'000'000 && !flag.load(); ++i) co_await weft::yield();
    co_return flag.load();
}

weft::task<void> set_after_yields(std::atomic<bool>& flag, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    flag.store(true);
}

// On one worker, a task that yields must let the other one run: if yield()
// resumed the caller at once, `wait_for` would spin through its whole budget.
weft::task<bool> yield_lets_sibling_finish() {
    std::atomic<bool> flag{false};
    auto [seen, unit] = co_await weft::when_all(wait_for(flag), set_after_yields(flag, 0));
    (void)unit;
    co_return seen;
}

weft::task<void> endless(const std::atomic<bool>& stop, lifetime_counts& c) {
    counted local(c);
    while (!stop.load()) co_await weft::yield();
}

weft::task<void> spawn_endless(const std::atomic<bool>& stop, lifetime_counts& c, int n) {
    for (int i = 0; i < n; ++i) (void)weft::spawn(endless(stop, c));
    co_return;
}

// A chain of `depth` awaits whose innermost task waits on an event nobody sets.
weft::task<int> await_chain(int depth, weft::event& never, std::atomic<bool>& reached, lifetime_counts& c) {
    counted local(c);
    if (depth == 0) {
        reached.store(true);
        co_await never.wait();
        co_return 0;
    }
    co_return 1 + co_await await_chain(depth - 1, never, reached, c);
}

std::size_t switches(const std::vector<int>& log) {
    std::size_t n = 0;
    for (std::size_t i = 1; i < log.size(); ++i) n += log[i] != log[i - 1] ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("runtime(config) validates its configuration") {
    REQUIRE_THROWS_AS(weft::runtime(make_config(0)), weft::config_error);
    try {
        weft::runtime rt(make_config(0));
        FAIL("runtime accepted workers = 0");
    } catch (const weft::config_error& e) {
        REQUIRE(e.key() == "workers");
        REQUIRE(e.value() == "0");
    }
    REQUIRE_THROWS_AS(weft::runtime(make_config(1, 3)), weft::config_error);  // not a power of two
}

TEST_CASE("every steal_fence runs fork-join work across workers; membarrier is refused only where unavailable") {
    for (const char* fence : {"auto", "seq_cst", "membarrier"}) {
        INFO("steal_fence=" << fence);
        weft::config cfg = make_config(2);
        cfg.steal_fence = fence;
        if (std::string(fence) == "membarrier" && !weft::detail::asymmetric_fence_available()) {
            REQUIRE_THROWS_WITH(weft::runtime(cfg), Catch::Matchers::Contains("steal_fence=\"membarrier\""));
            continue;
        }
        weft::runtime rt(cfg);
        REQUIRE(rt.block_on(fib(22)) == 17711);
    }
    // One worker has no thieves: any fence is accepted and none is used.
    weft::config one = make_config(1);
    one.steal_fence = "membarrier";
    weft::runtime rt(one);
    REQUIRE(rt.block_on(fib(15)) == 610);
}

namespace {

weft::task<int> sleep_then(int v) {
    co_await weft::sleep_for(std::chrono::milliseconds(1));
    co_return v;
}

weft::config with_backend(const char* backend) {
    weft::config cfg = make_config(1);
    cfg.io_backend = backend;
    return cfg;
}

}  // namespace

TEST_CASE("under valgrind io_backend auto takes epoll, and io_uring is refused with a reason") {
    // valgrind 3.19 hangs a process whose worker waits in io_uring_enter; it
    // announces itself by its preload library in LD_PRELOAD, which the runtime
    // reads when it is made.
    bool uring_allowed = true;
    try {
        weft::runtime rt(with_backend("io_uring"));
        REQUIRE(std::string(weft::detail::io_backend_in_use(rt)) == "io_uring");
    } catch (const weft::io_error&) {
        uring_allowed = false;  // a kernel or seccomp policy without io_uring
    } catch (const weft::config_error&) {
        uring_allowed = false;  // this test runs under valgrind already
    }
    {
        weft::runtime rt(with_backend("auto"));
        REQUIRE(std::string(weft::detail::io_backend_in_use(rt)) == (uring_allowed ? "io_uring" : "epoll"));
    }
    const weft_test::env_guard preload("LD_PRELOAD", "/usr/libexec/valgrind/vgpreload_core-amd64-linux.so");
    {
        weft::runtime rt(with_backend("auto"));
        REQUIRE(std::string(weft::detail::io_backend_in_use(rt)) == "epoll");
        REQUIRE(rt.block_on(sleep_then(7)) == 7);  // timers run on the epoll reactor
    }
    REQUIRE_THROWS_MATCHES(
        weft::runtime(with_backend("io_uring")), weft::config_error,
        Catch::Matchers::Message("io_backend=\"io_uring\": valgrind (found in LD_PRELOAD) hangs when a worker "
                                 "waits in io_uring_enter; use \"auto\" or \"epoll\" under valgrind"));
    weft::runtime rt(with_backend("epoll"));
    REQUIRE(std::string(weft::detail::io_backend_in_use(rt)) == "epoll");
}

TEST_CASE("workers() reports the configured number of workers") {
    const unsigned workers = GENERATE(1u, 2u, 3u, 8u);
    weft::runtime rt(make_config(workers));
    REQUIRE(rt.workers() == workers);
}

TEST_CASE("block_on gives the task's result") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    weft::runtime rt(make_config(workers, capacity));
    REQUIRE(rt.block_on(answer()) == 42);
    REQUIRE(rt.block_on(fib(20)) == 6765);
}

TEST_CASE("block_on called from inside a task throws usage_error that the task can catch") {
    weft::runtime rt(make_config(2));
    weft::runtime other(make_config(1));
    const std::int64_t frames_before = live_frames();
    const nested_block_on_seen seen = rt.block_on(block_on_from_worker(rt, other));
    REQUIRE(seen.threw);
    REQUIRE(seen.other_runtime_threw);
    REQUIRE_THAT(seen.message, Catch::Matchers::Contains("worker thread"));
    // The rejected tasks were freed, and the runtime still works.
    REQUIRE(rt.block_on(answer()) == 42);
    REQUIRE(eventually([&] { return live_frames() == frames_before; }));
}

TEST_CASE("block_on from several threads at once gives each caller its own result") {
    const unsigned workers = GENERATE(1u, 2u);
    weft::runtime rt(make_config(workers, 4));
    constexpr int k_threads = 4;
    constexpr int k_calls = 100;
    std::vector<std::atomic<int>> correct(k_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&rt, &correct, t] {
            for (int i = 0; i < k_calls; ++i) {
                const int n = (t + i) % 12;
                const std::uint64_t expected[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89};
                if (rt.block_on(fib(n)) == expected[n]) correct[static_cast<std::size_t>(t)].fetch_add(1);
            }
        });
    }
    for (std::thread& th : threads) th.join();
    for (int t = 0; t < k_threads; ++t) REQUIRE(correct[static_cast<std::size_t>(t)].load() == k_calls);
}

TEST_CASE("weft::run runs a task on a fresh runtime and rethrows its exception") {
    REQUIRE(weft::run(answer()) == 42);
    REQUIRE(weft::run(fib(15)) == 610);
    REQUIRE(weft::run(weft::when_all(answer(), fib(10))) == std::tuple<int, std::uint64_t>{42, 55});
    REQUIRE_THROWS_AS(weft::run(fails("run failed")), test_error);
    REQUIRE_THROWS_WITH(weft::run(fails("run failed")), "run failed");
}

TEST_CASE("an empty or already started task handed to block_on, spawn, timeout or when_any: the error names the call") {
    weft::runtime rt(make_config(2));
    REQUIRE_THROWS_WITH(rt.block_on(weft::task<int>{}),
                        "weft::runtime::block_on: the task is empty (moved-from or default-constructed)");
    REQUIRE_THROWS_WITH(rt.spawn(weft::task<int>{}),
                        "weft::runtime::spawn: the task is empty (moved-from or default-constructed)");
    REQUIRE_THROWS_WITH(rt.block_on(weft::timeout(std::chrono::seconds(1), weft::task<int>{})),
                        "weft::timeout: the task is empty (moved-from or default-constructed)");
    REQUIRE_THROWS_WITH(rt.block_on(weft::when_any(answer(), weft::task<int>{})),
                        "weft::when_any: the task is empty (moved-from or default-constructed)");
    const std::string inside = rt.block_on([]() -> weft::task<std::string> {
        std::string messages;
        try {
            (void)weft::spawn(weft::task<int>{});
        } catch (const weft::usage_error& e) {
            messages += e.what();
        }
        messages += " | ";
        try {
            (void)weft::run(answer());
        } catch (const weft::usage_error& e) {
            messages += e.what();
        }
        messages += " | ";
        weft::task<int> ran = answer();
        (void)co_await ran;  // awaited as an lvalue: `ran` still holds the finished frame
        try {
            (void)weft::spawn(std::move(ran));
        } catch (const weft::usage_error& e) {
            messages += e.what();
        }
        co_return messages;
    }());
    REQUIRE(inside ==
            "weft::spawn: the task is empty (moved-from or default-constructed) | "
            "weft::run called from a weft task: it would block that worker (co_await the task instead) | "
            "weft::spawn: the task was already started or awaited: a task runs once");
    REQUIRE(rt.block_on(answer()) == 42);  // the runtime still works
}

TEST_CASE("yield lets another task run on the same worker") {
    weft::runtime rt(make_config(1));
    REQUIRE(rt.block_on(yield_lets_sibling_finish()));

    std::vector<int> log;
    rt.block_on(two_spawned_yielders(log, 50));
    REQUIRE(log.size() == 100);
    REQUIRE(std::count(log.begin(), log.end(), 1) == 50);
    REQUIRE(switches(log) >= 1);
}

TEST_CASE("an idle runtime parks every worker") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    weft::runtime rt(make_config(workers));
    REQUIRE(eventually([&] { return weft::detail::parked_workers(rt) == rt.workers(); }));
    REQUIRE(rt.block_on(answer()) == 42);
    REQUIRE(eventually([&] { return weft::detail::parked_workers(rt) == rt.workers(); }));
}

TEST_CASE("fifty runtimes created and destroyed in turn each shut down and leave no frame behind") {
    // Runs on a helper thread so that a destructor that hangs fails the test.
    struct outcome {
        std::atomic<int> right_results{0};
        std::atomic<int> balanced{0};
    };
    auto out = std::make_shared<outcome>();
    const bool finished = weft_test::completes_without_hanging([out](std::atomic<std::uint64_t>& progress) {
        for (int i = 0; i < 50; ++i) {
            const std::int64_t frames_before = live_frames();
            {
                weft::runtime rt(make_config(1 + static_cast<unsigned>(i % 4), i % 2 == 0 ? 4 : 256));
                const bool fib_right = rt.block_on(fib(12)) == 144;
                std::atomic<bool> flag{false};
                weft::join_handle<void> h = rt.spawn(set_after_yields(flag, 2));
                rt.block_on(std::move(h));
                if (fib_right && flag.load()) out->right_results.fetch_add(1);
                // The destructor runs right after block_on returns, while the worker
                // that ran the task may still be searching before it parks.
            }
            if (live_frames() == frames_before) out->balanced.fetch_add(1);
            progress.fetch_add(1);
        }
    });
    INFO("runtimes shut down: " << out->balanced.load() << " of 50");
    REQUIRE(finished);
    REQUIRE(out->right_results.load() == 50);
    REQUIRE(out->balanced.load() == 50);
}

TEST_CASE("a runtime destroyed while its workers are still searching for work shuts down") {
    // With a long spin phase, a worker that just ran block_on's task is still
    // searching when the destructor starts: it must notice the stop flag and not
    // park after shutdown's last wake-up.
    struct outcome {
        std::atomic<int> shut_down{0};
    };
    auto out = std::make_shared<outcome>();
    const bool finished = weft_test::completes_without_hanging([out](std::atomic<std::uint64_t>& progress) {
        for (int i = 0; i < 20; ++i) {
            {
                weft::config cfg = make_config(1 + static_cast<unsigned>(i % 2), 4);
                cfg.spin_rounds = 1'000'000;
                weft::runtime rt(cfg);
                (void)rt.block_on(answer());
            }
            out->shut_down.fetch_add(1);
            progress.fetch_add(1);
        }
    });
    INFO("runtimes shut down: " << out->shut_down.load() << " of 20");
    REQUIRE(finished);
    REQUIRE(out->shut_down.load() == 20);
}

TEST_CASE("destroying a runtime with pending detached tasks neither hangs nor leaks") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    lifetime_counts c;
    std::atomic<bool> stop{false};  // never set: the tasks never finish
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, capacity));
        for (int i = 0; i < 20; ++i) (void)rt.spawn(endless(stop, c));
        rt.block_on(spawn_endless(stop, c, 100));  // spawned from a worker
    }
    // Some of the 120 may never have started (no local constructed), but every
    // one that did is destroyed, and every frame is freed.
    REQUIRE(c.constructed.load() > 0);
    REQUIRE(c.destroyed.load() == c.constructed.load());
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("a task suspended 300000 awaits deep is destroyed at shutdown or by its late handle, stack intact") {
    // Destroying a suspended chain goes one machine-stack level deeper per await:
    // 300,000 levels are far more than the test thread's 8 MiB stack holds. TSAN
    // keeps a fixed-size shadow call stack per thread (64 Ki calls in GCC 12's
    // runtime) that no thread stack size extends, so its build checks a shallower
    // chain: the hand-over of the frames to the destroying thread, not the depth.
#if defined(__SANITIZE_THREAD__)
    constexpr int depth = 20'000;
#else
    constexpr int depth = 300'000;
#endif
    const bool handle_outlives_runtime = GENERATE(false, true);
    INFO("the join_handle " << (handle_outlives_runtime ? "outlives the runtime" : "is detached"));
    lifetime_counts c;
    weft::event never;
    std::atomic<bool> reached{false};
    const std::int64_t frames_before = live_frames();
    {
        std::optional<weft::join_handle<int>> late;
        {
            weft::runtime rt(weft::config{.workers = 2});
            weft::join_handle<int> h = rt.spawn(await_chain(depth, never, reached, c));
            REQUIRE(eventually([&] { return reached.load(); }));
            if (handle_outlives_runtime)
                late.emplace(std::move(h));
            else
                h.detach();
        }
        // Detached: the runtime's shutdown destroyed the chain. Otherwise dropping
        // the handle here does.
    }
    REQUIRE(c.constructed.load() == depth + 1);
    REQUIRE(c.destroyed.load() == depth + 1);
    REQUIRE(live_frames() == frames_before);
}
