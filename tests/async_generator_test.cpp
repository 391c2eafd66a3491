// Tests for weft::async_generator: order and end of sequence, laziness, awaiting
// tasks, yield(), when_all and sleeps in the body, exceptions, move-only values,
// frame and local lifetimes, a million yields at one stack depth, misuse, consumers
// on other workers, and cancellation through the consumer's scope.
#include <weft/async_generator.hpp>
#include <weft/detail/cancel.hpp>
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
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using weft_test::counted;
using weft_test::lifetime_counts;
using weft_test::live_frames;
using weft_test::make_config;
using weft_test::stack_span;
using weft_test::test_error;

// --- examples from docs/generators.md ---------------------------------------------

weft::task<int> fetch(int i) {
    co_await weft::yield();  // stands in for a socket read
    co_return i * 10;
}

weft::async_generator<int> fetch_all(int n) {
    for (int i = 0; i < n; ++i) co_yield co_await fetch(i);
}

weft::task<int> sum_fetched(int n) {
    int sum = 0;
    auto pages = fetch_all(n);
    while (std::optional<int> page = co_await pages.next()) sum += *page;
    co_return sum;
}

// --- generators -------------------------------------------------------------------

weft::async_generator<int> count_from_zero(int n) {
    for (int i = 0; i < n; ++i) co_yield i;
}

weft::async_generator<int> counting_steps(std::atomic<int>& steps) {
    for (int i = 1;; ++i) {
        steps.fetch_add(1);
        co_yield i;
    }
}

weft::task<int> value(int v) { co_return v; }

weft::async_generator<int> awaiting_between_yields() {
    co_yield co_await value(1);
    co_await weft::yield();
    co_yield 2;
    auto [a, b] = co_await weft::when_all(value(3), value(4));
    co_yield a + b;
    co_await weft::yield();
}

weft::async_generator<int> throwing_after(int n) {
    for (int i = 1; i <= n; ++i) co_yield i;
    co_await weft::yield();
    throw test_error("boom after " + std::to_string(n));
}

weft::async_generator<std::unique_ptr<int>> boxes() {
    co_yield std::make_unique<int>(1);  // a temporary: moved out
    auto second = std::make_unique<int>(2);
    co_yield second;  // a variable, but it cannot be copied: moved out
    co_await weft::yield();
    co_yield std::make_unique<int>(3);
}

weft::async_generator<std::string> words(std::vector<std::string>& seen_by_body) {
    std::string word = "a";
    for (int i = 0; i < 3; ++i) {
        co_yield word;  // a variable: the consumer gets a copy
        seen_by_body.push_back(word);
        word += "b";
    }
    const std::string fixed = "const";
    co_yield fixed;  // a const variable: copied
}

weft::async_generator<int> holding_two_counted(lifetime_counts& c) {
    counted a(c);
    co_await weft::yield();
    counted b(c);
    for (int i = 0;; ++i) co_yield i;
}

weft::async_generator<int> holding_counted_param(counted, bool& ran) {
    ran = true;
    co_yield 1;
}

weft::async_generator<long> sampled_naturals(long n, stack_span& span) {
    for (long i = 0; i < n; ++i) {
        span.sample();
        co_yield i;
    }
}

// --- consumers --------------------------------------------------------------------

// What a consumer saw, recorded so that the test's thread asserts (Catch2 v2
// assertions are not thread-safe).
struct seen_values {
    std::vector<int> values;
    int empties_after_end = 0;
};

weft::task<seen_values> drain(weft::async_generator<int> g, int extra_nexts) {
    seen_values seen;
    while (std::optional<int> v = co_await g.next()) seen.values.push_back(*v);
    for (int i = 0; i < extra_nexts; ++i) {
        if (!(co_await g.next()).has_value()) ++seen.empties_after_end;
    }
    co_return seen;
}

struct laziness_seen {
    int after_create = -1;
    int after_yields = -1;
    std::optional<int> first;
    int after_first = -1;
};

weft::task<laziness_seen> create_then_next(std::atomic<int>& steps) {
    laziness_seen seen;
    auto g = counting_steps(steps);
    seen.after_create = steps.load();
    // Give the runtime every chance to run the body behind our back: nobody may.
    for (int i = 0; i < 10; ++i) co_await weft::yield();
    seen.after_yields = steps.load();
    seen.first = co_await g.next();
    seen.after_first = steps.load();
    co_return seen;
}

struct exception_seen {
    std::vector<int> values;
    std::string message;
    bool threw = false;
    int empties_after = 0;
};

weft::task<exception_seen> consume_until_throw(weft::async_generator<int> g) {
    exception_seen seen;
    try {
        while (std::optional<int> v = co_await g.next()) seen.values.push_back(*v);
    } catch (const test_error& e) {
        seen.threw = true;
        seen.message = e.what();
    }
    for (int i = 0; i < 2; ++i) {
        if (!(co_await g.next()).has_value()) ++seen.empties_after;
    }
    co_return seen;
}

weft::task<std::vector<int>> unbox_all() {
    std::vector<int> out;
    auto g = boxes();
    while (std::optional<std::unique_ptr<int>> box = co_await g.next()) {
        out.push_back(*box != nullptr ? **box : -1);
    }
    co_return out;
}

weft::task<std::vector<std::string>> collect_words(std::vector<std::string>& seen_by_body) {
    std::vector<std::string> out;
    auto g = words(seen_by_body);
    while (std::optional<std::string> w = co_await g.next()) {
        *w += "!";  // our copy: the body's variable must not change
        out.push_back(std::move(*w));
    }
    co_return out;
}

struct halfway_seen {
    long live_while_suspended = -1;
    long live_after_drop = -1;
    int last = -1;
};

// Takes two elements, then drops the generator while it is suspended at a co_yield.
weft::task<halfway_seen> drop_halfway(lifetime_counts& c) {
    halfway_seen seen;
    {
        auto g = holding_two_counted(c);
        (void)co_await g.next();
        seen.last = (co_await g.next()).value_or(-1);
        seen.live_while_suspended = c.live();
    }
    seen.live_after_drop = c.live();
    co_return seen;
}

weft::task<long> sum_sampled(long n, stack_span& span) {
    long sum = 0;
    auto g = sampled_naturals(n, span);
    while (std::optional<long> v = co_await g.next()) sum += *v;
    co_return sum;
}

// One of two concurrent next() calls on the same generator: returns the value,
// or -1 for the usage_error.
weft::task<int> try_next(weft::async_generator<int>& g, std::atomic<int>& refused,
                         std::string& message) {
    try {
        co_return (co_await g.next()).value_or(-2);
    } catch (const weft::usage_error& e) {
        message = e.what();
        refused.fetch_add(1);
        co_return -1;
    }
}

// Holds its first element back until the other next() has been refused, so that
// the first next() is certainly still pending when the second one is awaited.
weft::async_generator<int> yield_after_refusal(const std::atomic<int>& refused) {
    for (long i = 0; i < 10'000'000 && refused.load() == 0; ++i) co_await weft::yield();
    co_yield 1;
}

weft::task<std::vector<int>> two_nexts_at_once(std::atomic<int>& refused, std::string& message) {
    auto g = yield_after_refusal(refused);
    auto [a, b] = co_await weft::when_all(try_next(g, refused, message), try_next(g, refused, message));
    co_return std::vector<int>{a, b};
}

// Consumes `n` elements of its own generator, letting other tasks run (and maybe
// take it to another worker) between them.
weft::task<long> sum_with_yields(int n) {
    long sum = 0;
    auto g = fetch_all(n);
    while (std::optional<int> v = co_await g.next()) {
        sum += *v;
        co_await weft::yield();
    }
    co_return sum;
}

weft::task<long> sum_rest(weft::async_generator<int>& g) {
    long sum = 0;
    while (std::optional<int> v = co_await g.next()) sum += *v;
    co_return sum;
}

struct handover_seen {
    std::optional<int> first;
    long rest_in_child = -1;
    int empty_after = 0;
};

// Starts a generator in the parent, finishes it in a when_all child (which a thief
// may run on the other worker), then checks the end from the parent again.
weft::task<handover_seen> hand_over_to_child(int n) {
    handover_seen seen;
    auto g = fetch_all(n);
    seen.first = co_await g.next();
    auto [rest, unused] = co_await weft::when_all(sum_rest(g), value(0));
    (void)unused;
    seen.rest_in_child = rest;
    if (!(co_await g.next()).has_value()) ++seen.empty_after;
    co_return seen;
}

// --- cancellation scopes ------------------------------------------------------------

weft::async_generator<int> sleeping_after(int n, lifetime_counts& c) {
    counted guard(c);
    for (int i = 0; i < n; ++i) co_yield i;
    // Long enough that only a cancellation ends it before the test notices; short
    // enough that a broken cancellation fails the test instead of hanging it.
    co_await weft::sleep_for(std::chrono::seconds(60));
    co_yield -1;
}

struct cancel_seen {
    std::vector<int> values;
    std::atomic<bool> cancelled_at_next{false};
};

// Lets weft::cancelled escape, so that timeout() reports the deadline.
weft::task<void> consume_until_cancelled(cancel_seen& seen, lifetime_counts& c) {
    auto g = sleeping_after(2, c);
    try {
        while (std::optional<int> v = co_await g.next()) seen.values.push_back(*v);
    } catch (const weft::cancelled&) {
        seen.cancelled_at_next.store(true);
        throw;
    }
}

weft::async_generator<int> napping(int n) {
    for (int i = 0; i < n; ++i) {
        co_await weft::sleep_for(std::chrono::milliseconds(1));
        co_yield i;
    }
}

// Puts the awaiting coroutine under `scope`, as timeout() does for its task.
struct enter_scope {
    weft::detail::cancel_scope* scope;

    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) const noexcept {
        h.promise().scope_ = scope;
        return false;  // continue at once
    }
    void await_resume() const noexcept {}
};

// The scope a timer or socket awaited here would register in.
struct current_scope {
    weft::detail::cancel_scope* seen = nullptr;

    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
        seen = weft::detail::scope_of(h);
        return false;
    }
    weft::detail::cancel_scope* await_resume() const noexcept { return seen; }
};

weft::task<weft::detail::cancel_scope*> scope_in_task() { co_return co_await current_scope{}; }

weft::async_generator<weft::detail::cancel_scope*> reporting_scopes() {
    for (;;) {
        co_yield co_await current_scope{};
        co_await weft::yield();
        co_yield co_await scope_in_task();
    }
}

struct scopes_seen {
    std::vector<weft::detail::cancel_scope*> under_first;
    std::vector<weft::detail::cancel_scope*> under_second;
};

weft::task<scopes_seen> consume_under_two_scopes(weft::detail::cancel_scope* first,
                                                 weft::detail::cancel_scope* second) {
    scopes_seen seen;
    auto g = reporting_scopes();
    co_await enter_scope{first};
    seen.under_first.push_back((co_await g.next()).value_or(nullptr));
    seen.under_first.push_back((co_await g.next()).value_or(nullptr));
    co_await enter_scope{second};
    seen.under_second.push_back((co_await g.next()).value_or(nullptr));
    seen.under_second.push_back((co_await g.next()).value_or(nullptr));
    co_await enter_scope{nullptr};
    co_return seen;
}

}  // namespace

static_assert(std::movable<weft::async_generator<int>>);
static_assert(!std::copyable<weft::async_generator<int>>);
static_assert(std::movable<weft::async_generator<std::unique_ptr<int>>>);

TEST_CASE("an async generator yields its values in order, then empty, also after the end",
          "[async_generator]") {
    weft::runtime rt{weft::config{.workers = 2}};
    const seen_values seen = rt.block_on(drain(count_from_zero(5), 2));
    REQUIRE(seen.values == std::vector<int>{0, 1, 2, 3, 4});
    REQUIRE(seen.empties_after_end == 2);

    const seen_values none = rt.block_on(drain(count_from_zero(0), 1));
    REQUIRE(none.values.empty());
    REQUIRE(none.empties_after_end == 1);
}

TEST_CASE("the docs example sums what an async generator fetched with awaits", "[async_generator]") {
    weft::runtime rt{weft::config{.workers = 2}};
    REQUIRE(rt.block_on(sum_fetched(5)) == 0 + 10 + 20 + 30 + 40);
    REQUIRE(weft::run(sum_fetched(3)) == 30);
}

TEST_CASE("an async generator's body does not run before the first next()", "[async_generator]") {
    std::atomic<int> steps{0};
    {
        auto unstarted = counting_steps(steps);
        REQUIRE(static_cast<bool>(unstarted));
    }
    REQUIRE(steps.load() == 0);

    weft::runtime rt{weft::config{.workers = 2}};
    const laziness_seen seen = rt.block_on(create_then_next(steps));
    REQUIRE(seen.after_create == 0);
    REQUIRE(seen.after_yields == 0);
    REQUIRE(seen.first == 1);
    REQUIRE(seen.after_first == 1);
}

TEST_CASE("an async generator's body awaits a task, yield() and when_all between its yields",
          "[async_generator]") {
    const unsigned workers = GENERATE(1u, 2u);
    weft::runtime rt(make_config(workers, 4));
    const seen_values seen = rt.block_on(drain(awaiting_between_yields(), 1));
    REQUIRE(seen.values == std::vector<int>{1, 2, 7});
    REQUIRE(seen.empties_after_end == 1);
}

TEST_CASE("an exception thrown in the body reaches the consumer at next(), then the generator is finished",
          "[async_generator]") {
    weft::runtime rt{weft::config{.workers = 2}};
    SECTION("after the values yielded before it") {
        const exception_seen seen = rt.block_on(consume_until_throw(throwing_after(2)));
        REQUIRE(seen.values == std::vector<int>{1, 2});
        REQUIRE(seen.threw);
        REQUIRE(seen.message == "boom after 2");
        REQUIRE(seen.empties_after == 2);
    }
    SECTION("before the first yield") {
        const exception_seen seen = rt.block_on(consume_until_throw(throwing_after(0)));
        REQUIRE(seen.values.empty());
        REQUIRE(seen.threw);
        REQUIRE(seen.message == "boom after 0");
        REQUIRE(seen.empties_after == 2);
    }
    SECTION("through block_on when the consumer does not catch it") {
        REQUIRE_THROWS_WITH(rt.block_on(drain(throwing_after(1), 0)), "boom after 1");
    }
}

TEST_CASE("an async generator of a move-only type moves each value out", "[async_generator]") {
    weft::runtime rt{weft::config{.workers = 2}};
    REQUIRE(rt.block_on(unbox_all()) == std::vector<int>{1, 2, 3});
}

TEST_CASE("a yielded variable is copied to the consumer and stays intact in the body",
          "[async_generator]") {
    weft::runtime rt{weft::config{.workers = 2}};
    std::vector<std::string> seen_by_body;
    const std::vector<std::string> got = rt.block_on(collect_words(seen_by_body));
    REQUIRE(got == std::vector<std::string>{"a!", "ab!", "abb!", "const!"});
    REQUIRE(seen_by_body == std::vector<std::string>{"a", "ab", "abb"});
}

TEST_CASE("destroying an async generator suspended half way destroys its locals once and frees its frame",
          "[async_generator]") {
    lifetime_counts c;
    const std::int64_t frames_before = live_frames();
    halfway_seen seen;
    {
        weft::runtime rt(make_config(2, 4));
        seen = rt.block_on(drop_halfway(c));
    }
    REQUIRE(seen.last == 1);
    REQUIRE(seen.live_while_suspended == 2);
    REQUIRE(seen.live_after_drop == 0);
    REQUIRE(c.constructed.load() == 2);
    REQUIRE(c.destroyed.load() == 2);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("an unstarted async generator frees its frame and destroys its parameters once",
          "[async_generator]") {
    lifetime_counts c;
    const std::int64_t frames_before = live_frames();
    bool ran = false;
    {
        auto g = holding_counted_param(counted(c), ran);
        weft_test::escape(&g);
        REQUIRE(live_frames() == frames_before + 1);
        REQUIRE(c.live() == 1);  // the copy in the frame
    }
    REQUIRE_FALSE(ran);
    REQUIRE(c.constructed.load() > 0);
    REQUIRE(c.live() == 0);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("a million yields consumed in a loop run at one machine-stack depth", "[async_generator]") {
    // Nested resumptions would take at least 16 bytes (a return address and a saved
    // frame pointer) per element, 16 MB for a million: far past 64 KB, and past a
    // worker's stack. Symmetric transfer keeps every step at the same depth.
    weft::runtime rt(make_config(1));
    stack_span span;
    REQUIRE(rt.block_on(sum_sampled(1'000'000, span)) == 499'999'500'000L);
    INFO("stack span over a million yields: " << span.bytes() << " bytes");
    REQUIRE(span.highest >= span.lowest);
    CHECK(span.bytes() < 64 * 1024);
}

TEST_CASE("next() on a moved-from or default-constructed async generator throws usage_error",
          "[async_generator]") {
    auto g = count_from_zero(3);
    auto moved = std::move(g);
    REQUIRE_FALSE(static_cast<bool>(g));  // NOLINT(bugprone-use-after-move): the misuse under test
    REQUIRE(static_cast<bool>(moved));
    REQUIRE_THROWS_AS(g.next(), weft::usage_error);
    REQUIRE_THROWS_WITH(g.next(), Catch::Contains("empty (moved-from or default-constructed)"));

    weft::async_generator<int> empty;
    REQUIRE_FALSE(static_cast<bool>(empty));
    REQUIRE_THROWS_AS(empty.next(), weft::usage_error);

    // The generator it moved to still works, and so does one assigned over the
    // moved-from one.
    weft::runtime rt{weft::config{.workers = 2}};
    REQUIRE(rt.block_on(drain(std::move(moved), 0)).values == std::vector<int>{0, 1, 2});
    g = count_from_zero(1);
    REQUIRE(rt.block_on(drain(std::move(g), 0)).values == std::vector<int>{0});
}

TEST_CASE("a second next() awaited while one is pending throws usage_error", "[async_generator]") {
    const unsigned workers = GENERATE(1u, 2u);
    weft::runtime rt(make_config(workers));
    std::atomic<int> refused{0};
    std::string message;
    const std::vector<int> got = rt.block_on(two_nexts_at_once(refused, message));
    REQUIRE(refused.load() == 1);
    // One child got the element (whichever claimed the generator first), the other
    // was refused.
    REQUIRE(((got[0] == 1 && got[1] == -1) || (got[0] == -1 && got[1] == 1)));
    REQUIRE_THAT(message, Catch::Matchers::Contains("still pending"));
}

TEST_CASE("async generators consumed by tasks that other workers may run give every element",
          "[async_generator]") {
    weft::runtime rt(make_config(2, 4));
    SECTION("each when_all child drains its own generator") {
        std::vector<weft::task<long>> children;
        for (int i = 0; i < 8; ++i) children.push_back(sum_with_yields(200));
        const std::vector<long> sums = rt.block_on(weft::when_all(std::move(children)));
        REQUIRE(sums.size() == 8);
        for (long s : sums) REQUIRE(s == 10L * 199 * 200 / 2);
    }
    SECTION("a generator started by the parent is finished by a when_all child") {
        const handover_seen seen = rt.block_on(hand_over_to_child(100));
        REQUIRE(seen.first == 0);
        REQUIRE(seen.rest_in_child == 10L * 99 * 100 / 2);
        REQUIRE(seen.empty_after == 1);
    }
    SECTION("a generator created on the test's thread is drained on a worker") {
        auto g = fetch_all(4);
        REQUIRE(rt.block_on(drain(std::move(g), 1)).values == std::vector<int>{0, 10, 20, 30});
    }
    SECTION("spawned tasks drain generators concurrently") {
        std::vector<weft::join_handle<long>> handles;
        for (int i = 0; i < 4; ++i) handles.push_back(rt.spawn(sum_with_yields(100)));
        for (auto& h : handles) REQUIRE(rt.block_on(std::move(h)) == 10L * 99 * 100 / 2);
    }
}

TEST_CASE("awaits inside an async generator's body run under the scope of the consumer of each next()",
          "[async_generator]") {
    weft::runtime rt{weft::config{.workers = 2}};
    // Nothing registers in these: the test only compares where the awaits look.
    weft::detail::cancel_scope first_scope(nullptr);
    weft::detail::cancel_scope second_scope(nullptr);
    weft::detail::cancel_scope* first = &first_scope;
    weft::detail::cancel_scope* second = &second_scope;
    const scopes_seen seen = rt.block_on(consume_under_two_scopes(first, second));
    // Directly in the body, and in a task the body awaits.
    REQUIRE(seen.under_first == std::vector<weft::detail::cancel_scope*>{first, first});
    REQUIRE(seen.under_second == std::vector<weft::detail::cancel_scope*>{second, second});
}

TEST_CASE("timeout around the consumer cancels a sleep inside the generator's body",
          "[async_generator]") {
    lifetime_counts c;
    cancel_seen seen;
    {
        weft::runtime rt{weft::config{.workers = 2}};
        // The body sleeps for a minute after two elements; the timeout's 20 ms are a
        // lower bound, nothing asserts how soon the cancellation arrives.
        const bool finished =
            rt.block_on(weft::timeout(std::chrono::milliseconds(20), consume_until_cancelled(seen, c)));
        REQUIRE_FALSE(finished);
    }
    REQUIRE(seen.values == std::vector<int>{0, 1});
    REQUIRE(seen.cancelled_at_next.load());
    REQUIRE(c.constructed.load() == 1);
    REQUIRE(c.destroyed.load() == 1);
}

weft::async_generator<int> one_then_a_long_sleep(lifetime_counts& c) {
    counted local(c);
    co_yield 1;
    co_await weft::sleep_for(std::chrono::minutes(1));
    co_yield 2;
}

TEST_CASE("timeout(d, g.next()) bounds the wait for one element; when it fires the generator is finished",
          "[async_generator]") {
    lifetime_counts c;
    {
        weft::runtime rt{weft::config{.workers = 2}};
        rt.block_on([](lifetime_counts& counts) -> weft::task<void> {
            auto g = one_then_a_long_sleep(counts);
            const std::optional<std::optional<int>> first = co_await weft::timeout(std::chrono::seconds(60), g.next());
            REQUIRE(first.has_value());
            REQUIRE(*first == std::optional<int>(1));
            const std::optional<std::optional<int>> second =
                co_await weft::timeout(std::chrono::milliseconds(5), g.next());
            REQUIRE_FALSE(second.has_value());
            // The cancelled sleep ended the body (its local is gone) and the generator.
            REQUIRE(counts.destroyed.load() == 1);
            const std::optional<int> after = co_await g.next();
            REQUIRE_FALSE(after.has_value());
        }(c));
    }
    REQUIRE(c.constructed.load() == 1);
    REQUIRE(c.destroyed.load() == 1);
}

TEST_CASE("an async generator's body sleeps between yields", "[async_generator]") {
    weft::runtime rt{weft::config{.workers = 2}};
    const auto started = std::chrono::steady_clock::now();
    const seen_values seen = rt.block_on(drain(napping(3), 1));
    REQUIRE(seen.values == std::vector<int>{0, 1, 2});
    REQUIRE(seen.empties_after_end == 1);
    // Timers never wake early: three 1 ms sleeps take at least 3 ms.
    REQUIRE(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(3));
}
