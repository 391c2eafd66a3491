// Tests for weft::task: laziness, results (values, move-only, void, exceptions),
// symmetric transfer on million-deep await chains, misuse (usage_error), and that
// frames and their locals are destroyed exactly once.
#include <weft/runtime.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using weft_test::counted;
using weft_test::stack_span;
using weft_test::lifetime_counts;
using weft_test::live_frames;
using weft_test::make_config;

using weft_test::test_error;

weft::task<void> set_flag(bool& flag) {
    flag = true;
    co_return;
}

weft::task<int> value(int v) { co_return v; }

weft::task<std::string> long_text() {
    // Longer than any small-string buffer, so the result really moves a heap block.
    co_return std::string(200, 'x') + "end";
}

weft::task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }

weft::task<std::unique_ptr<int>> forward_box(int v) {
    std::unique_ptr<int> p = co_await boxed(v);
    *p += 1;
    co_return p;
}

weft::task<int> throws_now(std::string what) {
    throw test_error(what);
    co_return 0;
}

weft::task<int> throws_after_yield(std::string what) {
    co_await weft::yield();
    throw test_error(what);
    co_return 0;
}

// Awaits `t` and reports the exception's message instead of letting it escape.
weft::task<std::string> message_of(weft::task<int> t) {
    try {
        co_await std::move(t);
    } catch (const test_error& e) {
        co_return std::string(e.what());
    }
    co_return "no exception";
}

struct laziness_seen {
    bool after_create = true;
    bool after_yield = true;
    bool after_await = false;
};

weft::task<laziness_seen> create_then_await() {
    bool ran = false;
    laziness_seen seen;
    weft::task<void> t = set_flag(ran);
    seen.after_create = ran;
    // Give the runtime every chance to run it behind our back: nobody may.
    for (int i = 0; i < 10; ++i) co_await weft::yield();
    seen.after_yield = ran;
    co_await t;
    seen.after_await = ran;
    co_return seen;
}

weft::task<int> one() { co_return 1; }

// Each iteration's child completes synchronously and returns to us through its
// final suspend: without symmetric transfer every iteration would nest a frame of
// machine stack and a million of them would overflow it.
weft::task<long> sum_of_awaits(long n) {
    long sum = 0;
    for (long i = 0; i < n; ++i) sum += co_await one();
    co_return sum;
}

// A million frames alive at once, each awaiting the next: starting each child
// and returning from each must not grow the machine stack.
weft::task<long> chain_depth(long n) {
    if (n == 0) co_return 0;
    co_return 1 + co_await chain_depth(n - 1);
}

weft::task<void> void_chain(long n, long& leaves) {
    if (n == 0) {
        ++leaves;
        co_return;
    }
    co_await void_chain(n - 1, leaves);
}

weft::task<long> sampled_chain(long n, stack_span& span) {
    span.sample();
    if (n == 0) co_return 0;
    co_return 1 + co_await sampled_chain(n - 1, span);
}

weft::task<int> sampled_one(stack_span& span) {
    span.sample();
    co_return 1;
}

weft::task<long> sampled_loop(long n, stack_span& span) {
    long sum = 0;
    for (long i = 0; i < n; ++i) sum += co_await sampled_one(span);
    co_return sum;
}

struct misuse_seen {
    bool moved_from_threw = false;
    bool default_threw = false;
    int moved_to_value = 0;
};

weft::task<misuse_seen> await_moved_from() {
    misuse_seen seen;
    weft::task<int> t = value(5);
    weft::task<int> moved_to = std::move(t);
    try {
        co_await t;  // NOLINT(bugprone-use-after-move): the misuse under test
    } catch (const weft::usage_error&) {
        seen.moved_from_threw = true;
    }
    weft::task<int> empty;
    try {
        co_await empty;
    } catch (const weft::usage_error&) {
        seen.default_threw = true;
    }
    seen.moved_to_value = co_await moved_to;
    co_return seen;
}

struct twice_seen {
    int first = 0;
    bool second_threw = false;
    std::string message;
};

weft::task<twice_seen> await_twice() {
    twice_seen seen;
    weft::task<int> t = value(7);
    seen.first = co_await t;
    try {
        seen.first += co_await t;
    } catch (const weft::usage_error& e) {
        seen.second_threw = true;
        seen.message = e.what();
    }
    co_return seen;
}

weft::task<int> with_locals(lifetime_counts& c) {
    counted a(c);
    counted b(c);
    co_await weft::yield();
    counted d(c);
    co_return 3;
}

weft::task<int> locals_then_throw(lifetime_counts& c) {
    counted a(c);
    co_await weft::yield();
    counted b(c);
    throw test_error("after locals");
    co_return 0;
}

weft::task<int> takes_by_value(counted, bool& ran) {
    ran = true;
    co_return 1;
}

weft::task<counted> make_counted(lifetime_counts& c) { co_return counted(c); }

weft::task<int> nested_locals(lifetime_counts& c, int depth) {
    counted here(c);
    if (depth == 0) co_return 0;
    const int below = co_await nested_locals(c, depth - 1);
    co_return below + 1;
}

// For the frame release tests: an exception that owns a counted object, so a
// leaked exception_ptr shows as a live object.
struct counted_error : test_error {
    counted_error(lifetime_counts& c) : test_error("counted"), held(c) {}
    counted held;
};

weft::task<int> throws_counted(lifetime_counts& c, int) {
    co_await weft::yield();
    throw counted_error(c);
    co_return 0;
}

// A frame much larger than the frames around it: a local array kept across a
// suspension lives in the frame.
weft::task<int> big_frame(int v) {
    std::array<char, 900> pad{};
    pad[static_cast<std::size_t>(v) % pad.size()] = 1;
    co_await weft::yield();
    co_return pad[static_cast<std::size_t>(v) % pad.size()];
}

// A frame above the pool's largest size class (1 KiB): it comes from the system
// allocator and goes back to it.
weft::task<int> huge_frame(int v) {
    std::array<char, 3000> pad{};
    pad[static_cast<std::size_t>(v) % pad.size()] = 1;
    co_await weft::yield();
    co_return pad[static_cast<std::size_t>(v) % pad.size()];
}

// A parameter whose copy into the frame makes (and drops) a frame of another
// size: the promise constructed after it must not take that frame's size for its
// own (the ASAN build frees with sized deletes and would report the mismatch).
// Trivially destructible, so the promise does look at the last allocation.
struct makes_a_frame {
    int v;
    explicit makes_a_frame(int x) : v(x) {}
    makes_a_frame(const makes_a_frame& o) : v(o.v) { weft::task<int> t = big_frame(v); }
    makes_a_frame(makes_a_frame&& o) noexcept : v(o.v) { weft::task<int> t = big_frame(v); }
};

weft::task<int> small_frame_with(makes_a_frame m) { co_return m.v + 1; }

// A reference parameter to a type that is never defined in this file: the
// promise's constructor sees that type and must still compile (this coroutine
// exists only for that; the compilers instantiate the promise's constructor at
// the end of the file, where defined_later below is already complete).
struct never_defined;
weft::task<int> takes_never_defined(never_defined&) { co_return 1; }

// A reference parameter to a type that is incomplete where the coroutine is
// defined and complete later in the file.
struct defined_later;
int value_of(const defined_later& d);
weft::task<int> takes_incomplete(defined_later& d) { co_return value_of(d); }

struct release_seen {
    int values = 0;
    int errors = 0;
};

weft::task<release_seen> finish_and_drop(lifetime_counts& results, lifetime_counts& errors,
                                         lifetime_counts& params, bool& ran) {
    release_seen seen;
    for (int i = 0; i < 50; ++i) {
        // Trivially destructible parameters and a non-trivial result: the frame
        // goes straight back, after the result's destructor.
        {
            weft::task<counted> t = make_counted(results);
            counted r = co_await t;
        }
        // An exception in the frame: freed through the destroy path, which
        // releases the exception_ptr.
        try {
            co_await throws_counted(errors, i);
        } catch (const counted_error&) {
            ++seen.errors;
        }
        // A parameter with a destructor: the destroy path runs it.
        seen.values += co_await takes_by_value(counted(params), ran);
        seen.values += co_await small_frame_with(makes_a_frame(i)) - i - 1;
    }
    co_return seen;
}

struct defined_later {
    int v = 4;
};

int value_of(const defined_later& d) { return d.v; }

}  // namespace

TEST_CASE("finished frames are freed once, with their result, exception and parameters destroyed") {
    lifetime_counts results, errors, params;
    bool ran = false;
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(2));
        const release_seen seen = rt.block_on(finish_and_drop(results, errors, params, ran));
        REQUIRE(seen.values == 50);
        REQUIRE(seen.errors == 50);
    }
    REQUIRE(ran);
    defined_later later;
    REQUIRE(weft::runtime(make_config(1)).block_on(takes_incomplete(later)) == 4);
    // Compiled, never called: there is no never_defined to pass.
    REQUIRE(&takes_never_defined != nullptr);
    REQUIRE(results.constructed.load() >= 100);  // made in each frame, moved out of it
    REQUIRE(results.live() == 0);
    REQUIRE(errors.constructed.load() >= 50);
    REQUIRE(errors.live() == 0);
    REQUIRE(params.constructed.load() >= 100);  // the argument and the frame's copy
    REQUIRE(params.live() == 0);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("the live frame count follows frames made on one thread and freed on others") {
    // The count is what frame-leak tests rest on. 1,000 frames of one size class
    // are more than a pool's list holds (256), so the frees fill the lists of two
    // threads and send the rest back to the system; the maker and one freeing
    // thread exit (their pools are released), the main thread's pool stays with
    // its lists full.
    constexpr int k_small = 1000;
    constexpr int k_huge = 3;
    const std::int64_t before = live_frames();
    std::vector<weft::task<int>> tasks;
    std::thread maker([&] {
        for (int i = 0; i < k_small; ++i) tasks.push_back(value(i));
        for (int i = 0; i < k_huge; ++i) tasks.push_back(huge_frame(i));
    });
    maker.join();
    REQUIRE(live_frames() == before + k_small + k_huge);
    std::vector<weft::task<int>> half(std::make_move_iterator(tasks.begin() + k_small / 2),
                                      std::make_move_iterator(tasks.end()));
    tasks.resize(k_small / 2);
    std::thread freer([&] { half.clear(); });
    freer.join();
    REQUIRE(live_frames() == before + k_small / 2);
    tasks.clear();
    REQUIRE(live_frames() == before);
    // Frames taken from the main thread's full lists and given back.
    for (int i = 0; i < k_small; ++i) tasks.push_back(value(i));
    REQUIRE(live_frames() == before + k_small);
    tasks.clear();
    REQUIRE(live_frames() == before);
}

TEST_CASE("a task does not run its body when it is created or dropped unstarted") {
    bool ran = false;
    {
        weft::task<void> t = set_flag(ran);
        REQUIRE(static_cast<bool>(t));
        REQUIRE_FALSE(ran);
    }
    REQUIRE_FALSE(ran);
}

TEST_CASE("block_on starts a lazy task") {
    weft::runtime rt(make_config(2));
    bool ran = false;
    weft::task<void> t = set_flag(ran);
    REQUIRE_FALSE(ran);
    rt.block_on(std::move(t));
    REQUIRE(ran);
}

TEST_CASE("a task created inside another task starts only when it is awaited") {
    const unsigned workers = GENERATE(1u, 2u);
    weft::runtime rt(make_config(workers, 4));
    const laziness_seen seen = rt.block_on(create_then_await());
    REQUIRE_FALSE(seen.after_create);
    REQUIRE_FALSE(seen.after_yield);
    REQUIRE(seen.after_await);
}

TEST_CASE("a task gives its int, std::string and move-only results to its awaiter") {
    weft::runtime rt(make_config(2));
    REQUIRE(rt.block_on(value(42)) == 42);
    REQUIRE(rt.block_on(long_text()) == std::string(200, 'x') + "end");
    std::unique_ptr<int> p = rt.block_on(boxed(9));
    REQUIRE(p != nullptr);
    REQUIRE(*p == 9);
    std::unique_ptr<int> q = rt.block_on(forward_box(9));
    REQUIRE(q != nullptr);
    REQUIRE(*q == 10);
}

TEST_CASE("a void task runs to completion when awaited") {
    weft::runtime rt(make_config(1));
    bool ran = false;
    rt.block_on(set_flag(ran));
    REQUIRE(ran);
}

TEST_CASE("a task's exception is rethrown at co_await with its type and message") {
    weft::runtime rt(make_config(2, 4));
    REQUIRE(rt.block_on(message_of(throws_now("before any suspension"))) == "before any suspension");
    REQUIRE(rt.block_on(message_of(throws_after_yield("after a yield"))) == "after a yield");
    REQUIRE(rt.block_on(message_of(value(1))) == "no exception");
}

TEST_CASE("block_on rethrows the task's exception on the calling thread") {
    weft::runtime rt(make_config(2));
    REQUIRE_THROWS_AS(rt.block_on(throws_now("x")), test_error);
    REQUIRE_THROWS_WITH(rt.block_on(throws_after_yield("late failure")), "late failure");
    // The runtime is still usable afterwards.
    REQUIRE(rt.block_on(value(3)) == 3);
}

TEST_CASE("a chain of ten thousand awaits runs at one machine-stack depth") {
    // Ten thousand nested calls would take at least 160 KB (a return address and
    // a saved frame pointer each); flat transfers stay within a few frames.
    weft::runtime rt(make_config(1));
    stack_span down;
    REQUIRE(rt.block_on(sampled_chain(10'000, down)) == 10'000);
    INFO("stack span of a 10000-deep chain: " << down.bytes() << " bytes");
    CHECK(down.bytes() < 64 * 1024);
    stack_span loop;
    REQUIRE(rt.block_on(sampled_loop(10'000, loop)) == 10'000);
    INFO("stack span of 10000 awaits in a loop: " << loop.bytes() << " bytes");
    CHECK(loop.bytes() < 64 * 1024);
}

TEST_CASE("a million awaits in a loop complete without growing the stack") {
    weft::runtime rt(make_config(1));
    REQUIRE(rt.block_on(sum_of_awaits(1'000'000)) == 1'000'000);
}

TEST_CASE("a million-deep chain of tasks each awaiting the next completes") {
    weft::runtime rt(make_config(1));
    REQUIRE(rt.block_on(chain_depth(1'000'000)) == 1'000'000);
    long leaves = 0;
    rt.block_on(void_chain(1'000'000, leaves));
    REQUIRE(leaves == 1);
}

TEST_CASE("awaiting a moved-from or default-constructed task throws usage_error") {
    weft::runtime rt(make_config(1));
    const misuse_seen seen = rt.block_on(await_moved_from());
    REQUIRE(seen.moved_from_threw);
    REQUIRE(seen.default_threw);
    REQUIRE(seen.moved_to_value == 5);

    weft::task<int> t = value(1);
    weft::task<int> other = std::move(t);
    REQUIRE_FALSE(static_cast<bool>(t));  // NOLINT(bugprone-use-after-move)
    REQUIRE(static_cast<bool>(other));
    REQUIRE_THROWS_AS(rt.block_on(std::move(t)), weft::usage_error);
    REQUIRE_THROWS_AS(rt.block_on(weft::task<int>{}), weft::usage_error);
    REQUIRE(rt.block_on(std::move(other)) == 1);
}

TEST_CASE("awaiting the same task twice throws usage_error the second time") {
    weft::runtime rt(make_config(1));
    const twice_seen seen = rt.block_on(await_twice());
    REQUIRE(seen.first == 7);
    REQUIRE(seen.second_threw);
    REQUIRE_THAT(seen.message, Catch::Matchers::Contains("already awaited"));
}

TEST_CASE("a finished task destroys its locals exactly once") {
    lifetime_counts c;
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(2, 4));
        REQUIRE(rt.block_on(with_locals(c)) == 3);
        REQUIRE(rt.block_on(nested_locals(c, 100)) == 100);
    }
    REQUIRE(c.constructed.load() == 3 + 101);
    REQUIRE(c.destroyed.load() == c.constructed.load());
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("a task that throws destroys its locals exactly once") {
    lifetime_counts c;
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(2));
        REQUIRE_THROWS_AS(rt.block_on(locals_then_throw(c)), test_error);
    }
    REQUIRE(c.constructed.load() == 2);
    REQUIRE(c.destroyed.load() == 2);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("an unstarted task frees its frame and destroys its parameters exactly once") {
    lifetime_counts c;
    const std::int64_t frames_before = live_frames();
    bool ran = false;
    {
        weft::task<int> t = takes_by_value(counted(c), ran);
        REQUIRE(live_frames() == frames_before + 1);
        REQUIRE(c.live() == 1);  // the copy in the frame
    }
    REQUIRE_FALSE(ran);
    REQUIRE(c.constructed.load() > 0);
    REQUIRE(c.live() == 0);
    REQUIRE(live_frames() == frames_before);
}

// Makes a frame in its destructor, which runs at thread exit after the thread's
// frame pool was handed back (it was constructed before the pool, so it is
// destroyed after it). Reports how many live frames that added.
struct frame_after_pool_gone {
    std::atomic<std::int64_t>* seen = nullptr;
    ~frame_after_pool_gone() {
        if (seen == nullptr) return;
        const std::int64_t before = live_frames();
        weft::task<int> t = value(2);
        seen->store(live_frames() - before);
    }
};
thread_local frame_after_pool_gone tls_frame_after_pool_gone;

TEST_CASE("frames are counted on a thread whose first frame event is a free, and after its pool is gone") {
    const std::int64_t frames_before = live_frames();
    weft::task<int> made_here = value(1);
    REQUIRE(live_frames() == frames_before + 1);
    // This thread's first frame event frees a frame made on another thread.
    std::thread([&] { weft::task<int> t = std::move(made_here); }).join();
    REQUIRE(live_frames() == frames_before);

    std::atomic<std::int64_t> seen{-1};
    std::thread([&] {
        tls_frame_after_pool_gone.seen = &seen;  // constructed now, before this thread's pool
        weft::task<int> t = value(3);            // makes the pool
    }).join();
    REQUIRE(seen.load() == 1);  // the late frame was counted while it lived
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("move-assigning over a task destroys the frame it held") {
    lifetime_counts c;
    bool ran = false;
    const std::int64_t frames_before = live_frames();
    weft::task<int> t = takes_by_value(counted(c), ran);
    REQUIRE(c.live() == 1);
    t = value(2);
    REQUIRE(c.live() == 0);
    REQUIRE(live_frames() == frames_before + 1);
    {
        weft::runtime rt(make_config(1));
        REQUIRE(rt.block_on(std::move(t)) == 2);
    }
    REQUIRE_FALSE(ran);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("a task's result object is destroyed exactly once") {
    lifetime_counts c;
    {
        weft::runtime rt(make_config(2));
        {
            counted result = rt.block_on(make_counted(c));
            REQUIRE(c.live() == 1);
        }
        REQUIRE(c.live() == 0);
    }
    REQUIRE(c.constructed.load() > 0);
    REQUIRE(c.destroyed.load() == c.constructed.load());
}
