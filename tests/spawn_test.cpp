// Tests for weft::spawn, runtime::spawn and join_handle (Python's create_task):
// results and exceptions through co_await, detaching by dropping the handle,
// done(), misuse, and that shutdown destroys detached tasks that never finish.
#include <weft/channel.hpp>
#include <weft/errors.hpp>
#include <weft/runtime.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/when_all.hpp>
#include <weft/yield.hpp>

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using weft_test::counted;
using weft_test::eventually;
using weft_test::lifetime_counts;
using weft_test::live_frames;
using weft_test::make_config;

using weft_test::test_error;

// Polling loops yield at most this often before giving up: far more than any
// schedule needs, so only a task that never runs makes them give up.
constexpr long k_poll_cap = 10'000'000;

weft::task<int> value(int v) { co_return v; }
weft::task<std::string> text(std::string s) { co_return s; }

weft::task<int> value_after_yields(int v, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    co_return v;
}

weft::task<void> bump_after_yields(std::atomic<int>& counter, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    counter.fetch_add(1);
}

weft::task<int> throw_after_yields(std::string what, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    throw test_error(what);
    co_return 0;
}

// Yields until `stop` is set, keeping a counted local alive all the while. The
// tests never set `stop` when they want a task that never finishes.
weft::task<void> yield_until(const std::atomic<bool>& stop, lifetime_counts& c, std::atomic<int>& started) {
    counted local(c);
    started.fetch_add(1);
    while (!stop.load()) co_await weft::yield();
}

// Spawns one never-ending child and awaits it: destroying this frame must detach
// the child into the runtime's registry, which then destroys it too.
weft::task<void> await_endless_child(const std::atomic<bool>& stop, lifetime_counts& c, std::atomic<int>& started) {
    counted local(c);
    weft::join_handle<void> child = weft::spawn(yield_until(stop, c, started));
    started.fetch_add(1);
    co_await child;
}

weft::task<bool> poll_until(const std::atomic<int>& counter, int target) {
    for (long i = 0; i < k_poll_cap && counter.load() < target; ++i) co_await weft::yield();
    co_return counter.load() == target;
}

struct values_seen {
    int number = 0;
    std::string word;
    bool void_done = false;
    long sum = 0;
};

weft::task<values_seen> spawn_and_await(int n) {
    values_seen seen;
    weft::join_handle<int> a = weft::spawn(value(7));
    weft::join_handle<std::string> b = weft::spawn(text(std::string(100, 'y')));
    std::atomic<int> voids{0};
    weft::join_handle<void> c = weft::spawn(bump_after_yields(voids, 2));
    seen.number = co_await a;
    seen.word = co_await b;
    co_await c;
    seen.void_done = voids.load() == 1;
    // Many at once; awaited newest first, so some are still fresh on our deque
    // (the inline path) and others were stolen or spilled to the injector.
    std::vector<weft::join_handle<int>> handles;
    for (int i = 0; i < n; ++i) handles.push_back(weft::spawn(value_after_yields(i, i % 3)));
    for (std::size_t i = handles.size(); i-- > 0;) seen.sum += co_await handles[i];
    co_return seen;
}

weft::task<std::string> spawn_failing() {
    weft::join_handle<int> h = weft::spawn(throw_after_yields("from the child", 2));
    try {
        co_await h;
    } catch (const test_error& e) {
        co_return std::string(e.what());
    }
    co_return "no exception";
}

weft::task<bool> spawn_detached_and_poll(std::atomic<int>& counter, int n) {
    for (int i = 0; i < n; ++i) {
        weft::join_handle<void> h = weft::spawn(bump_after_yields(counter, i % 5));
        if (i % 2 == 0) h.detach();  // the others detach when `h` goes out of scope
    }
    co_return co_await poll_until(counter, n);
}

struct handle_misuse_seen {
    bool moved_from_threw = false;
    bool awaited_twice_threw = false;
    bool default_threw = false;
    bool empty_after_await = false;
    int value = 0;
};

weft::task<handle_misuse_seen> misuse_handles() {
    handle_misuse_seen seen;
    weft::join_handle<int> h = weft::spawn(value(11));
    weft::join_handle<int> moved_to = std::move(h);
    try {
        co_await h;  // NOLINT(bugprone-use-after-move): the misuse under test
    } catch (const weft::usage_error&) {
        seen.moved_from_threw = true;
    }
    seen.value = co_await moved_to;
    seen.empty_after_await = !static_cast<bool>(moved_to);
    try {
        co_await moved_to;
    } catch (const weft::usage_error&) {
        seen.awaited_twice_threw = true;
    }
    weft::join_handle<int> none;
    try {
        co_await none;
    } catch (const weft::usage_error&) {
        seen.default_threw = true;
    }
    co_return seen;
}

weft::task<int> wait_for_flag(const std::atomic<bool>& go, int v) {
    while (!go.load()) co_await weft::yield();
    co_return v;
}

struct done_seen {
    bool before = true;
    bool after = false;
    int value = 0;
    bool handle_empty = false;
};

weft::task<done_seen> watch_done() {
    done_seen seen;
    std::atomic<bool> go{false};
    weft::join_handle<int> h = weft::spawn(wait_for_flag(go, 5));
    for (int i = 0; i < 10; ++i) co_await weft::yield();
    seen.before = h.done();
    go.store(true);
    for (long i = 0; i < k_poll_cap && !h.done(); ++i) co_await weft::yield();
    seen.after = h.done();
    seen.value = co_await h;
    seen.handle_empty = !static_cast<bool>(h) && !h.done();
    co_return seen;
}

// Two tasks await the same handle at once: the second gets usage_error.
struct double_await_state {
    weft::join_handle<int> handle;
    std::atomic<bool> first_waiting{false};
    std::atomic<bool> release{false};
    bool second_threw = false;
    int first_value = 0;
};

weft::task<void> first_awaiter(double_await_state& s) {
    s.first_waiting.store(true);
    s.first_value = co_await s.handle;
}

weft::task<void> second_awaiter(double_await_state& s) {
    for (long i = 0; i < k_poll_cap && !s.first_waiting.load(); ++i) co_await weft::yield();
    try {
        (void)co_await s.handle;
    } catch (const weft::usage_error&) {
        s.second_threw = true;
    }
    s.release.store(true);
}

weft::task<void> await_from_two_tasks(double_await_state& s) {
    s.handle = weft::spawn(wait_for_flag(s.release, 8));
    co_await weft::when_all(first_awaiter(s), second_awaiter(s));
}

weft::task<bool> reassign_handle(std::atomic<int>& counter) {
    weft::join_handle<void> h = weft::spawn(bump_after_yields(counter, 3));
    h = weft::spawn(bump_after_yields(counter, 1));  // detaches the first
    co_await h;
    co_return co_await poll_until(counter, 2);
}

}  // namespace

TEST_CASE("co_await on a spawned task's handle gives its result") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, capacity));
        const values_seen seen = rt.block_on(spawn_and_await(300));
        REQUIRE(seen.number == 7);
        REQUIRE(seen.word == std::string(100, 'y'));
        REQUIRE(seen.void_done);
        REQUIRE(seen.sum == 299 * 300 / 2);
    }
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("a spawned task's exception is rethrown by co_await on its handle") {
    const unsigned workers = GENERATE(1u, 2u);
    weft::runtime rt(make_config(workers, 4));
    REQUIRE(rt.block_on(spawn_failing()) == "from the child");
}

TEST_CASE("a dropped or detached handle lets the task run to completion") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    const std::int64_t frames_before = live_frames();
    std::atomic<int> counter{0};
    {
        weft::runtime rt(make_config(workers, capacity));
        REQUIRE(rt.block_on(spawn_detached_and_poll(counter, 200)));
    }
    REQUIRE(counter.load() == 200);
    // Detached tasks that finished freed their own frames.
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("move-assigning a join_handle detaches the task it held") {
    weft::runtime rt(make_config(2, 4));
    std::atomic<int> counter{0};
    REQUIRE(rt.block_on(reassign_handle(counter)));
    REQUIRE(counter.load() == 2);
}

TEST_CASE("runtime::spawn from the main thread gives a handle block_on can await") {
    const unsigned workers = GENERATE(1u, 2u);
    weft::runtime rt(make_config(workers, 4));
    weft::join_handle<int> h = rt.spawn(value_after_yields(13, 3));
    REQUIRE(static_cast<bool>(h));
    REQUIRE(rt.block_on(std::move(h)) == 13);

    weft::join_handle<int> failing = rt.spawn(throw_after_yields("outside", 1));
    REQUIRE_THROWS_WITH(rt.block_on(std::move(failing)), "outside");

    std::vector<weft::join_handle<int>> handles;
    for (int i = 0; i < 100; ++i) handles.push_back(rt.spawn(value_after_yields(i, i % 2)));
    long sum = 0;
    for (auto& handle : handles) sum += rt.block_on(std::move(handle));
    REQUIRE(sum == 99 * 100 / 2);
}

TEST_CASE("a handle dropped on the main thread detaches the task and it completes") {
    std::atomic<int> counter{0};
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(2, 4));
        for (int i = 0; i < 50; ++i) (void)rt.spawn(bump_after_yields(counter, i % 4));
        REQUIRE(eventually([&] { return counter.load() == 50; }));
    }
    REQUIRE(counter.load() == 50);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("weft::spawn outside a runtime throws usage_error and frees the task") {
    lifetime_counts c;
    std::atomic<bool> stop{false};
    std::atomic<int> started{0};
    const std::int64_t frames_before = live_frames();
    REQUIRE_THROWS_AS(weft::spawn(yield_until(stop, c, started)), weft::usage_error);
    REQUIRE(started.load() == 0);
    REQUIRE(c.live() == 0);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("awaiting a moved-from, already-awaited or empty join_handle throws usage_error") {
    weft::runtime rt(make_config(2));
    const handle_misuse_seen seen = rt.block_on(misuse_handles());
    REQUIRE(seen.moved_from_threw);
    REQUIRE(seen.value == 11);
    REQUIRE(seen.empty_after_await);
    REQUIRE(seen.awaited_twice_threw);
    REQUIRE(seen.default_threw);

    weft::join_handle<int> h = rt.spawn(value(1));
    weft::join_handle<int> moved_to = std::move(h);
    REQUIRE_THROWS_AS(rt.block_on(std::move(h)), weft::usage_error);  // NOLINT(bugprone-use-after-move)
    REQUIRE(rt.block_on(std::move(moved_to)) == 1);
}

TEST_CASE("a join_handle awaited by two tasks at once throws usage_error in the second") {
    weft::runtime rt(make_config(1));
    double_await_state s;
    rt.block_on(await_from_two_tasks(s));
    REQUIRE(s.second_threw);
    REQUIRE(s.first_value == 8);
}

TEST_CASE("join_handle::done() turns true when the task finishes") {
    const unsigned workers = GENERATE(1u, 2u);
    weft::runtime rt(make_config(workers, 4));
    const done_seen seen = rt.block_on(watch_done());
    REQUIRE_FALSE(seen.before);
    REQUIRE(seen.after);
    REQUIRE(seen.value == 5);
    REQUIRE(seen.handle_empty);
}

namespace {

// What a detached task saw. 0: still running; -1: the wrong outcome; 1: its
// hour-long sleep threw weft::cancelled; 2: its 20 ms timeout around an
// hour-long sleep expired.
weft::task<void> sleep_an_hour(std::atomic<int>& outcome) {
    try {
        co_await weft::sleep_for(std::chrono::hours(1));
        outcome.store(-1);  // the sleep ended: the cancel was lost
    } catch (const weft::cancelled&) {
        outcome.store(1);
    }
}

// 3: a 20 ms sleep under the sealed root scope ran to its end, uncancelled.
weft::task<void> sleep_briefly(std::atomic<int>& outcome) {
    try {
        co_await weft::sleep_for(std::chrono::milliseconds(20));
        outcome.store(3);
    } catch (const weft::cancelled&) {
        outcome.store(-1);
    }
}

weft::task<void> time_out_an_hour(std::atomic<int>& outcome) {
    const bool finished = co_await weft::timeout(std::chrono::milliseconds(20), weft::sleep_for(std::chrono::hours(1)));
    outcome.store(finished ? -1 : 2);
}

// On one worker the spawned tasks cannot start before this task suspends, so
// the cancel and the detach both come before their first await: the sleep
// meets a cancelled, sealed root scope (cancel_scope::seal).
weft::task<bool> cancel_then_detach(std::atomic<int>& cancelled, std::atomic<int>& timed_out,
                                    std::atomic<int>& slept) {
    weft::join_handle<void> h = weft::spawn(sleep_an_hour(cancelled));
    h.cancel();
    h.detach();
    weft::spawn(time_out_an_hour(timed_out)).detach();
    weft::spawn(sleep_briefly(slept)).detach();
    for (long i = 0; i < k_poll_cap && (cancelled.load() == 0 || timed_out.load() == 0 || slept.load() == 0); ++i)
        co_await weft::yield();
    co_return cancelled.load() == 1 && timed_out.load() == 2 && slept.load() == 3;
}

}  // namespace

TEST_CASE("a detached task stops at a cancel made before the detach; its sleeps and timeouts work as before") {
    weft::runtime rt(make_config(1));
    std::atomic<int> cancelled{0};
    std::atomic<int> timed_out{0};
    std::atomic<int> slept{0};
    REQUIRE(rt.block_on(cancel_then_detach(cancelled, timed_out, slept)));
    REQUIRE(cancelled.load() == 1);
    REQUIRE(timed_out.load() == 2);
    REQUIRE(slept.load() == 3);
}

TEST_CASE("shutdown destroys detached tasks that never finish, with their locals") {
    const unsigned workers = GENERATE(1u, 2u);
    lifetime_counts c;
    std::atomic<bool> stop{false};  // never set
    std::atomic<int> started{0};
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, 4));
        for (int i = 0; i < 10; ++i) (void)rt.spawn(yield_until(stop, c, started));
        // Each of these also spawns a never-ending child and awaits it.
        for (int i = 0; i < 5; ++i) (void)rt.spawn(await_endless_child(stop, c, started));
        REQUIRE(eventually([&] { return started.load() == 10 + 2 * 5; }));
        REQUIRE(c.live() == 10 + 2 * 5);
    }
    REQUIRE(c.constructed.load() == 20);
    REQUIRE(c.destroyed.load() == 20);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("a join_handle that outlives its runtime frees its task when dropped") {
    lifetime_counts c;
    std::atomic<bool> stop{false};  // never set
    std::atomic<int> started{0};
    const std::int64_t frames_before = live_frames();
    weft::join_handle<void> kept;
    {
        weft::runtime rt(make_config(2, 4));
        kept = rt.spawn(yield_until(stop, c, started));
        REQUIRE(eventually([&] { return started.load() == 1; }));
    }
    // The runtime is gone, but the handle still owns the suspended frame.
    REQUIRE(c.live() == 1);
    REQUIRE_FALSE(kept.done());
    kept = weft::join_handle<void>{};
    REQUIRE(c.live() == 0);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("a join_handle that outlives its runtime frees a task waiting inside timeout when dropped") {
    const std::int64_t frames_before = live_frames();
    std::atomic<int> started{0};
    weft::join_handle<void> sleeping;
    weft::join_handle<void> receiving;
    {
        weft::runtime rt(make_config(2, 4));
        // Destroying these frames disarms their timeouts' timers, whose wheels
        // are gone by then: that must not touch the wheels.
        sleeping = rt.spawn([](std::atomic<int>& s) -> weft::task<void> {
            s.fetch_add(1);
            (void)co_await weft::timeout(std::chrono::hours(1), weft::sleep_for(std::chrono::hours(1)));
        }(started));
        receiving = rt.spawn([](std::atomic<int>& s) -> weft::task<void> {
            weft::channel<int> ch(1);
            s.fetch_add(1);
            (void)co_await weft::timeout(std::chrono::hours(1), ch.recv());
        }(started));
        REQUIRE(eventually([&] { return started.load() == 2; }));
    }
    sleeping = weft::join_handle<void>{};
    receiving = weft::join_handle<void>{};
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("awaiting a join_handle from another runtime throws usage_error") {
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime a(make_config(1));
        weft::runtime b(make_config(1));
        auto h = a.spawn([]() -> weft::task<int> { co_return 7; }());
        // The handle belongs to runtime a; a task of runtime b may not await it.
        CHECK_THROWS_AS(b.block_on(std::move(h)), weft::usage_error);
        auto h2 = a.spawn([]() -> weft::task<int> { co_return 8; }());
        CHECK(a.block_on(std::move(h2)) == 8);
    }
    CHECK(live_frames() == frames_before);
}
