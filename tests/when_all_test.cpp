// Tests for weft::when_all (Python's asyncio.gather): tuple, vector and
// inplace_vector results in input order, std::monostate for void, waiting for every child before rethrowing
// the first exception, nesting, conversion to task, and misuse. Each runs on 1, 2
// and 4 workers, with the default local queue and with capacity 4 (overflow).
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/inplace_vector.hpp>
#include <weft/when_all.hpp>
#include <weft/yield.hpp>

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <thread>
#include <vector>

namespace {

using weft_test::counted;
using weft_test::stack_span;
using weft_test::lifetime_counts;
using weft_test::live_frames;
using weft_test::make_config;

using weft_test::test_error;

weft::task<int> value(int v) { co_return v; }
weft::task<void> nothing() { co_return; }
weft::task<std::string> text(std::string s) { co_return s; }
weft::task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }

weft::task<int> value_after_yields(int v, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    co_return v;
}

weft::task<std::tuple<int, std::monostate, std::string>> gather_mixed() {
    auto result = co_await weft::when_all(value(1), nothing(), text("two"));
    static_assert(std::is_same_v<decltype(result), std::tuple<int, std::monostate, std::string>>);
    co_return result;
}

weft::task<std::tuple<>> gather_nothing() { co_return co_await weft::when_all(); }

// Some children yield (0 to 3 times), so they go through the global queue and may
// resume on another worker, out of order with their siblings.
weft::task<std::size_t> index_after_yields(std::size_t i) {
    for (std::size_t k = 0; k < i % 4; ++k) co_await weft::yield();
    co_return i;
}

weft::task<std::vector<std::size_t>> gather_indices(std::size_t n) {
    std::vector<weft::task<std::size_t>> tasks;
    tasks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(index_after_yields(i));
    co_return co_await weft::when_all(std::move(tasks));
}

weft::task<void> count_after_yields(std::atomic<int>& done, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    done.fetch_add(1);
}

weft::task<std::vector<std::unique_ptr<int>>> gather_boxes(int n) {
    std::vector<weft::task<std::unique_ptr<int>>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(boxed(i));
    co_return co_await weft::when_all(std::move(tasks));
}

// A child that records that it finished, then (maybe) fails.
weft::task<int> finish_then_maybe_throw(std::atomic<int>& done, int yields, bool fail, std::string what) {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    done.fetch_add(1);
    if (fail) throw test_error(what);
    co_return yields;
}

struct failure_seen {
    bool caught = false;
    std::string message;
    int done_at_catch = -1;
};

// 64 children: every 8th fails after a few yields; the others keep yielding for
// longer, so they are still running when the first exception is recorded.
weft::task<failure_seen> gather_with_failures(std::atomic<int>& done) {
    std::vector<weft::task<int>> tasks;
    for (int i = 0; i < 64; ++i) {
        const bool fail = i % 8 == 3;
        tasks.push_back(finish_then_maybe_throw(done, fail ? i % 5 : 20, fail, "child " + std::to_string(i)));
    }
    failure_seen seen;
    try {
        co_await weft::when_all(std::move(tasks));
    } catch (const test_error& e) {
        seen.caught = true;
        seen.message = e.what();
        seen.done_at_catch = done.load();
    }
    co_return seen;
}

weft::task<failure_seen> gather_tuple_with_failures(std::atomic<int>& done) {
    failure_seen seen;
    try {
        co_await weft::when_all(finish_then_maybe_throw(done, 0, true, "first"),
                                finish_then_maybe_throw(done, 3, true, "second"),
                                finish_then_maybe_throw(done, 30, false, ""), count_after_yields(done, 10));
    } catch (const test_error& e) {
        seen.caught = true;
        seen.message = e.what();
        seen.done_at_catch = done.load();
    }
    co_return seen;
}

weft::task<std::uint64_t> fib(int n) {
    if (n < 2) co_return static_cast<std::uint64_t>(n);
    auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
    co_return a + b;
}

// when_all of vectors of when_all-of-tuples: nested fork-join in both shapes.
weft::task<int> nested_sum(int n) {
    std::vector<weft::task<std::tuple<int, int>>> pairs;
    for (int i = 0; i < n; ++i) pairs.push_back(weft::when_all(value_after_yields(i, i % 2), value(-2 * i)));
    std::vector<std::tuple<int, int>> results = co_await weft::when_all(std::move(pairs));
    int sum = 0;
    for (int i = 0; i < n; ++i) {
        if (std::get<0>(results[static_cast<std::size_t>(i)]) != i) co_return -1;
        sum += std::get<0>(results[static_cast<std::size_t>(i)]) + std::get<1>(results[static_cast<std::size_t>(i)]);
    }
    co_return sum;
}

weft::task<int> add_converted() {
    weft::task<std::tuple<int, int>> t = weft::when_all(value(20), value_after_yields(22, 2));
    auto [a, b] = co_await std::move(t);
    co_return a + b;
}

weft::task<int> count_start(std::atomic<int>& started, int v) {
    started.fetch_add(1);
    co_return v;
}

struct usage_seen {
    bool vector_threw = false;
    bool tuple_threw = false;
    bool awaited_child_threw = false;
    int moved_to_value = 0;
};

weft::task<usage_seen> gather_misuse(std::atomic<int>& started) {
    usage_seen seen;
    std::vector<weft::task<int>> tasks;
    tasks.push_back(count_start(started, 1));
    tasks.push_back(count_start(started, 2));
    tasks.push_back(count_start(started, 3));
    weft::task<int> moved_to = std::move(tasks[1]);
    try {
        co_await weft::when_all(std::move(tasks));
    } catch (const weft::usage_error&) {
        seen.vector_threw = true;
    }
    weft::task<int> hole;
    try {
        co_await weft::when_all(count_start(started, 4), std::move(hole), count_start(started, 5));
    } catch (const weft::usage_error&) {
        seen.tuple_threw = true;
    }
    seen.moved_to_value = co_await moved_to;
    std::vector<weft::task<int>> again;
    again.push_back(count_start(started, 6));
    again.push_back(std::move(moved_to));  // already awaited above
    try {
        co_await weft::when_all(std::move(again));
    } catch (const weft::usage_error&) {
        seen.awaited_child_threw = true;
    }
    co_return seen;
}

weft::task<int> keep_locals(lifetime_counts& c, int yields) {
    counted here(c);
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    co_return 1;
}

weft::task<int> gather_locals(lifetime_counts& c, int n) {
    std::vector<weft::task<int>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(keep_locals(c, i % 3));
    std::vector<int> ones = co_await weft::when_all(std::move(tasks));
    co_return std::accumulate(ones.begin(), ones.end(), 0);
}

weft::task<int> sampled_child(stack_span& span) {
    span.sample();
    co_return 1;
}

weft::task<std::tuple<int, int>> spawn_gather() {
    weft::join_handle<std::tuple<int, int>> h = weft::spawn(weft::when_all(value(5), value_after_yields(6, 2)));
    co_return co_await h;
}

template <class A>
concept spawnable = requires(A a) { weft::spawn(std::move(a)); };

// when_all over tasks of one type (kept in a task_block, when_all.hpp): the
// middle one of three fails while the others are still running.
weft::task<failure_seen> gather_same_type_with_failure(std::atomic<int>& done) {
    failure_seen seen;
    try {
        co_await weft::when_all(finish_then_maybe_throw(done, 5, false, ""),
                                finish_then_maybe_throw(done, 1, true, "middle"),
                                finish_then_maybe_throw(done, 9, false, ""));
    } catch (const test_error& e) {
        seen.caught = true;
        seen.message = e.what();
        seen.done_at_catch = done.load();
    }
    co_return seen;
}

weft::task<counted> counted_value(lifetime_counts& c, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    co_return counted(c);
}

// Results with a destructor: each is moved out of its child's frame, and both
// the moved-from one (freed with the frame) and the moved-to one die once.
weft::task<int> gather_counted(lifetime_counts& c) {
    auto results = co_await weft::when_all(counted_value(c, 0), counted_value(c, 3), counted_value(c, 1));
    co_return static_cast<int>(std::tuple_size_v<decltype(results)>);
}

template <class A>
concept runtime_spawnable = requires(weft::runtime& rt, A a) { rt.spawn(std::move(a)); };

}  // namespace

TEST_CASE("when_all of several tasks gives a tuple in argument order, with std::monostate for void") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    weft::runtime rt(make_config(workers, capacity));
    const auto [i, unit, s] = rt.block_on(gather_mixed());
    REQUIRE(i == 1);
    REQUIRE(unit == std::monostate{});
    REQUIRE(s == "two");
}

TEST_CASE("when_all over tasks of one type frees each child once: results, a failure, dropped, converted") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    lifetime_counts c;
    std::atomic<int> started{0};
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, 4));
        std::atomic<int> done{0};
        const failure_seen seen = rt.block_on(gather_same_type_with_failure(done));
        REQUIRE(seen.caught);
        REQUIRE(seen.message == "middle");
        REQUIRE(seen.done_at_catch == 3);  // rethrown only after every child finished

        REQUIRE(rt.block_on(gather_counted(c)) == 3);

        {  // never awaited: the children never start, and their frames go
            auto gather = weft::when_all(count_start(started, 1), count_start(started, 2));
        }
        {  // converted to a task (the when_all moves into its frame), then dropped
            weft::task<std::tuple<int, int>> t = weft::when_all(count_start(started, 3), count_start(started, 4));
        }
        REQUIRE(started.load() == 0);
        weft::task<std::tuple<int, int>> t = weft::when_all(count_start(started, 5), count_start(started, 6));
        REQUIRE(rt.block_on(std::move(t)) == std::tuple<int, int>{5, 6});
        REQUIRE(started.load() == 2);
    }
    REQUIRE(c.constructed.load() > 0);
    REQUIRE(c.constructed.load() == c.destroyed.load());
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("when_all of no tasks gives an empty tuple") {
    weft::runtime rt(make_config(1));
    REQUIRE(rt.block_on(gather_nothing()) == std::tuple<>{});
}

TEST_CASE("when_all of a vector gives the results in input order, whichever worker ran them") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, capacity));
        const std::vector<std::size_t> results = rt.block_on(gather_indices(1000));
        std::vector<std::size_t> expected(1000);
        std::iota(expected.begin(), expected.end(), std::size_t{0});
        REQUIRE(results == expected);
    }
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("when_all of a vector of void tasks runs each once and gives std::monostate for each") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    weft::runtime rt(make_config(workers, 4));
    std::atomic<int> done{0};
    std::vector<weft::task<void>> tasks;
    for (int i = 0; i < 500; ++i) tasks.push_back(count_after_yields(done, i % 3));
    const std::vector<std::monostate> results = rt.block_on(weft::when_all(std::move(tasks)));
    REQUIRE(results.size() == 500);
    REQUIRE(done.load() == 500);
}

TEST_CASE("when_all of a vector moves move-only results out in input order") {
    weft::runtime rt(make_config(2, 4));
    std::vector<std::unique_ptr<int>> boxes = rt.block_on(gather_boxes(100));
    REQUIRE(boxes.size() == 100);
    for (int i = 0; i < 100; ++i) {
        REQUIRE(boxes[static_cast<std::size_t>(i)] != nullptr);
        REQUIRE(*boxes[static_cast<std::size_t>(i)] == i);
    }
}

TEST_CASE("when_all of an empty vector gives an empty vector") {
    weft::runtime rt(make_config(2));
    REQUIRE(rt.block_on(weft::when_all(std::vector<weft::task<int>>{})).empty());
    REQUIRE(rt.block_on(weft::when_all(std::vector<weft::task<void>>{})).empty());
}

// nqueens' shape: one child per legal column, at most `n`, kept in the frame.
weft::task<std::uint64_t> queens(int n, int row, std::array<int, 12> cols) {
    if (row == n) co_return 1;
    weft::inplace_vector<weft::task<std::uint64_t>, 12> children;
    for (int c = 0; c < n; ++c) {
        bool ok = true;
        for (int r = 0; r < row; ++r) {
            const int d = cols[static_cast<std::size_t>(r)] - c;
            if (d == 0 || d == row - r || -d == row - r) ok = false;
        }
        if (!ok) continue;
        std::array<int, 12> next = cols;
        next[static_cast<std::size_t>(row)] = c;
        children.push_back(queens(n, row + 1, next));
    }
    std::uint64_t total = 0;
    for (std::uint64_t r : co_await weft::when_all(std::move(children))) total += r;
    co_return total;
}

weft::task<weft::inplace_vector<std::size_t, 8>> gather_indices_inplace(std::size_t n) {
    weft::inplace_vector<weft::task<std::size_t>, 8> tasks;
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(index_after_yields(i));
    auto results = co_await weft::when_all(std::move(tasks));
    static_assert(std::is_same_v<decltype(results), weft::inplace_vector<std::size_t, 8>>);
    co_return results;
}

TEST_CASE("when_all of an inplace_vector gives an inplace_vector of results in input order") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, capacity));
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{8}}) {
            const weft::inplace_vector<std::size_t, 8> results = rt.block_on(gather_indices_inplace(n));
            REQUIRE(results.size() == n);
            for (std::size_t i = 0; i < n; ++i) REQUIRE(results[i] == i);
        }
        // 8 queens: 92 solutions, from a tree of inplace_vector fork-joins.
        REQUIRE(rt.block_on(queens(8, 0, {})) == 92);
    }
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("when_all of an inplace_vector: void tasks, failures after every child, misuse") {
    weft::runtime rt(make_config(2, 4));
    std::atomic<int> done{0};
    weft::inplace_vector<weft::task<void>, 4> voids;
    for (int i = 0; i < 3; ++i) voids.push_back(count_after_yields(done, i));
    const weft::inplace_vector<std::monostate, 4> units = rt.block_on(weft::when_all(std::move(voids)));
    REQUIRE(units.size() == 3);
    REQUIRE(done.load() == 3);

    done = 0;
    weft::inplace_vector<weft::task<int>, 4> failing;
    failing.push_back(finish_then_maybe_throw(done, 0, true, "first"));
    failing.push_back(finish_then_maybe_throw(done, 12, false, ""));
    REQUIRE_THROWS_WITH(rt.block_on(weft::when_all(std::move(failing))), "first");
    REQUIRE(done.load() == 2);

    weft::inplace_vector<weft::task<int>, 2> holes;
    holes.push_back(value(1));
    holes.push_back(weft::task<int>{});
    REQUIRE_THROWS_WITH(rt.block_on(weft::when_all(std::move(holes))),
                        Catch::Matchers::Contains("weft::when_all: the range holds an empty task"));
}

TEST_CASE("inplace_vector: capacity, element lifetimes, copies and moves, errors") {
    using weft::inplace_vector;
    static_assert(inplace_vector<int, 3>::capacity() == 3);
    inplace_vector<int, 3> v{1, 2};
    REQUIRE(v.size() == 2);
    REQUIRE(v.back() == 2);
    v.push_back(3);
    REQUIRE_THROWS_WITH(v.push_back(4), "weft::inplace_vector: push_back on a full vector (capacity 3)");
    REQUIRE(v.size() == 3);
    REQUIRE_THROWS_AS(v.at(3), std::out_of_range);
    REQUIRE(v.at(2) == 3);
    inplace_vector<int, 3> copy = v;
    v.pop_back();
    REQUIRE(copy.size() == 3);
    REQUIRE(std::accumulate(copy.begin(), copy.end(), 0) == 6);
    REQUIRE(std::accumulate(v.begin(), v.end(), 0) == 3);
    copy = v;
    REQUIRE(copy.size() == 2);

    // Every element made (moves included) is destroyed exactly once.
    lifetime_counts counts;
    {
        inplace_vector<counted, 4> a;
        a.emplace_back(counts);
        a.emplace_back(counts);
        inplace_vector<counted, 4> b = std::move(a);
        REQUIRE(b.size() == 2);
        REQUIRE(a.size() == 2);  // moved one by one: the moved-from elements stay
        a = std::move(b);
        a.clear();
        REQUIRE(a.empty());
        a.emplace_back(counts);
    }
    REQUIRE(counts.constructed.load() >= 5);
    REQUIRE(counts.live() == 0);

    inplace_vector<std::unique_ptr<int>, 2> boxes;
    boxes.push_back(std::make_unique<int>(7));
    inplace_vector<std::unique_ptr<int>, 2> moved = std::move(boxes);
    REQUIRE(*moved.front() == 7);
}

TEST_CASE("inplace_vector of tasks relocates: the moved-from vector is empty, each frame freed once") {
    using tasks = weft::inplace_vector<weft::task<int>, 4>;
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(2, 4));
        tasks a;
        for (int i = 0; i < 3; ++i) a.push_back(value(i));
        REQUIRE(live_frames() == frames_before + 3);
        tasks b = std::move(a);
        REQUIRE(a.empty());
        REQUIRE(b.size() == 3);
        a = std::move(b);
        REQUIRE(b.empty());
        tasks c;
        c.push_back(value(10));
        REQUIRE(live_frames() == frames_before + 4);
        c = std::move(a);  // c's own unstarted task goes first
        REQUIRE(live_frames() == frames_before + 3);
        REQUIRE(a.empty());
        REQUIRE(c.size() == 3);
        for (int i = 0; i < 3; ++i) REQUIRE(c[static_cast<std::size_t>(i)]);
        const weft::inplace_vector<int, 4> results = rt.block_on(weft::when_all(std::move(c)));
        REQUIRE(results.size() == 3);
        for (int i = 0; i < 3; ++i) REQUIRE(results[static_cast<std::size_t>(i)] == i);
        REQUIRE(live_frames() == frames_before);

        tasks dropped;
        dropped.push_back(value(1));
        dropped.push_back(value(2));
        tasks moved = std::move(dropped);  // never awaited: destroyed unstarted
    }
    REQUIRE(live_frames() == frames_before);
}

// A result whose move throws once `armed` is set: when_all over a range hands
// results out and frees each child as it goes, so a throw part way must leave
// the remaining children to the range, each freed exactly once.
struct fragile_seed {
    lifetime_counts* counts;
    int v;
};
struct fragile_result {
    static inline std::atomic<bool> armed{false};
    lifetime_counts* counts;
    int v;
    // Made in place by the child's co_return: no move there.
    fragile_result(fragile_seed s) : counts(s.counts), v(s.v) { counts->constructed.fetch_add(1); }
    fragile_result(fragile_result&& o) : counts(o.counts), v(o.v) {
        if (armed.load() && v == 2) throw std::runtime_error("move of result 2");
        counts->constructed.fetch_add(1);
    }
    fragile_result& operator=(fragile_result&&) = delete;
    ~fragile_result() { counts->destroyed.fetch_add(1); }
};

weft::task<fragile_result> make_fragile(lifetime_counts& c, int v) {
    co_await weft::yield();
    co_return fragile_seed{&c, v};
}

TEST_CASE("when_all over a range frees every child once when a result's move throws") {
    const unsigned workers = GENERATE(1u, 2u);
    lifetime_counts counts;
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, 4));
        auto gather = [&](bool inplace) -> weft::task<int> {
            fragile_result::armed = false;
            if (inplace) {
                weft::inplace_vector<weft::task<fragile_result>, 5> children;
                for (int i = 0; i < 5; ++i) children.push_back(make_fragile(counts, i));
                fragile_result::armed = true;  // only when_all's taking of results moves them
                auto results = co_await weft::when_all(std::move(children));
                co_return static_cast<int>(results.size());
            }
            std::vector<weft::task<fragile_result>> children;
            for (int i = 0; i < 5; ++i) children.push_back(make_fragile(counts, i));
            fragile_result::armed = true;
            auto results = co_await weft::when_all(std::move(children));
            co_return static_cast<int>(results.size());
        };
        REQUIRE_THROWS_WITH(rt.block_on(gather(true)), "move of result 2");
        REQUIRE_THROWS_WITH(rt.block_on(gather(false)), "move of result 2");
        fragile_result::armed = false;
    }
    REQUIRE(counts.constructed.load() >= 10);
    REQUIRE(counts.constructed.load() == counts.destroyed.load());
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("when_all rethrows the first exception only after every child has finished") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, capacity));
        std::atomic<int> done{0};
        const failure_seen seen = rt.block_on(gather_with_failures(done));
        REQUIRE(seen.caught);
        REQUIRE_THAT(seen.message, Catch::Matchers::StartsWith("child "));
        REQUIRE(seen.done_at_catch == 64);
        REQUIRE(done.load() == 64);
    }
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("when_all of a tuple rethrows the first exception after every child has finished") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    weft::runtime rt(make_config(workers, 4));
    std::atomic<int> done{0};
    const failure_seen seen = rt.block_on(gather_tuple_with_failures(done));
    REQUIRE(seen.caught);
    REQUIRE(seen.done_at_catch == 4);
    if (workers == 1) {
        // One worker runs child 0 first, inline, and it fails at once.
        REQUIRE(seen.message == "first");
    } else {
        REQUIRE((seen.message == "first" || seen.message == "second"));
    }
}

TEST_CASE("nested when_all computes fib and sums of pairs") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    weft::runtime rt(make_config(workers, capacity));
    REQUIRE(rt.block_on(fib(20)) == 6765);
    // sum over i of (i - 2i) = -sum(i) = -(99 * 100 / 2)
    REQUIRE(rt.block_on(nested_sum(100)) == -4950);
}

TEST_CASE("when_all converts to a task and block_on accepts it directly") {
    weft::runtime rt(make_config(2));
    weft::task<std::tuple<int, int>> t = weft::when_all(value(1), value(2));
    REQUIRE(rt.block_on(std::move(t)) == std::tuple<int, int>{1, 2});
    REQUIRE(rt.block_on(add_converted()) == 42);
    const auto [a, unit, b] = rt.block_on(weft::when_all(value(3), nothing(), value_after_yields(4, 3)));
    REQUIRE(a == 3);
    REQUIRE(unit == std::monostate{});
    REQUIRE(b == 4);
    std::vector<weft::task<int>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(value_after_yields(i, 1));
    REQUIRE(rt.block_on(weft::when_all(std::move(tasks))) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("when_all's result can be spawned from a task and from outside") {
    // Template deduction ignores when_all's conversion to task, so spawn needs
    // its overload for awaitables (this test found it missing).
    using gather = decltype(weft::when_all(std::declval<weft::task<int>>(), std::declval<weft::task<int>>()));
    STATIC_REQUIRE(spawnable<gather>);
    STATIC_REQUIRE(runtime_spawnable<gather>);
    weft::runtime rt(make_config(2, 4));
    REQUIRE(rt.block_on(spawn_gather()) == std::tuple<int, int>{5, 6});
    weft::join_handle<std::tuple<int, std::monostate>> h = rt.spawn(weft::when_all(value(7), nothing()));
    REQUIRE(std::get<0>(rt.block_on(std::move(h))) == 7);
}

TEST_CASE("when_all throws usage_error for a moved-from or already-awaited child and starts none") {
    std::atomic<int> started{0};
    const std::int64_t frames_before = live_frames();
    usage_seen seen;
    {
        weft::runtime rt(make_config(2, 4));
        seen = rt.block_on(gather_misuse(started));
    }
    REQUIRE(seen.vector_threw);
    REQUIRE(seen.tuple_threw);
    REQUIRE(seen.awaited_child_threw);
    REQUIRE(seen.moved_to_value == 2);
    // Only the moved-out child ran (when awaited by itself); every rejected
    // when_all started none of its children.
    REQUIRE(started.load() == 1);
    REQUIRE(live_frames() == frames_before);
}

TEST_CASE("when_all runs a long inline chain of children at one machine-stack depth") {
    // One worker and a deque that holds every child: each child finishes by
    // transferring straight to the next (fork_join.hpp's inline chain). Nested
    // calls would take at least 160 KB for 10000 children.
    weft::runtime rt(make_config(1, 16384));
    stack_span span;
    std::vector<weft::task<int>> tasks;
    for (int i = 0; i < 10'000; ++i) tasks.push_back(sampled_child(span));
    const std::vector<int> ones = rt.block_on(weft::when_all(std::move(tasks)));
    REQUIRE(std::accumulate(ones.begin(), ones.end(), 0) == 10'000);
    INFO("stack span of a 10000-child inline chain: " << span.bytes() << " bytes");
    CHECK(span.bytes() < 64 * 1024);
}

TEST_CASE("when_all destroys every child's locals exactly once") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    lifetime_counts c;
    const std::int64_t frames_before = live_frames();
    {
        weft::runtime rt(make_config(workers, 4));
        REQUIRE(rt.block_on(gather_locals(c, 300)) == 300);
    }
    REQUIRE(c.constructed.load() == 300);
    REQUIRE(c.destroyed.load() == 300);
    REQUIRE(live_frames() == frames_before);
}

namespace {

// An awaitable whose completion comes from a thread of its own, as a callback-
// based library would deliver it: the awaiting child resumes off every worker.
struct resumed_by_plain_thread {
    std::vector<std::thread>* threads;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const {
        threads->emplace_back([h] { h.resume(); });
    }
    void await_resume() const noexcept {}
};

weft::task<int> finishes_on_plain_thread(std::vector<std::thread>* threads) {
    co_await resumed_by_plain_thread{threads};
    co_return 1;
}

weft::task<int> plain_child(int v) { co_return v; }

}  // namespace

TEST_CASE("when_all completes when a child is resumed by a thread that is not a worker") {
    weft::runtime rt(make_config(1));
    std::vector<std::thread> threads;
    threads.reserve(100);
    for (int round = 0; round < 100; ++round) {
        auto [a, b, c] = rt.block_on(
            weft::when_all(finishes_on_plain_thread(&threads), plain_child(2), plain_child(3)));
        CHECK(a + b + c == 6);
    }
    for (std::thread& t : threads) t.join();
}
