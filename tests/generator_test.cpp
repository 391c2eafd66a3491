// Tests for weft::generator, the two-way generator<T, S> and chain(): laziness,
// std::views pipelines, exceptions, frame lifetimes, send(). The examples in
// docs/generators.md are the functions at the top of this file.
#include <weft/errors.hpp>
#include <weft/generator.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

// --- examples from docs/generators.md -------------------------------------------

weft::generator<int> count_up_to(int n) {
    for (int i = 1; i <= n; ++i) co_yield i;
}

weft::generator<long long> naturals() {
    for (long long i = 0;; ++i) co_yield i;
}

// Python's echo: `value = (yield value)`; a negative value ends it.
weft::generator<int, int> echo() {
    int value = 0;
    while (value >= 0) value = co_yield value;
}

// --- helpers ---------------------------------------------------------------------

// Counts live instances, so a test can prove that frame locals were destroyed.
class counted {
public:
    counted() noexcept { ++live; }
    counted(const counted&) noexcept { ++live; }
    counted& operator=(const counted&) = default;
    ~counted() { --live; }

    static inline int live = 0;
};

weft::generator<int> count_with_side_effect(int& steps) {
    for (int i = 1;; ++i) {
        ++steps;
        co_yield i;
    }
}

weft::generator<int> holding_two_counted(int n) {
    counted a;
    counted b;
    for (int i = 0; i < n; ++i) co_yield i;
}

weft::generator<int> throwing_after(int n) {
    for (int i = 1; i <= n; ++i) co_yield i;
    throw std::runtime_error("boom after " + std::to_string(n));
}

weft::generator<std::unique_ptr<int>> boxed_up_to(int n) {
    for (int i = 1; i <= n; ++i) co_yield std::make_unique<int>(i);
}

weft::generator<std::string> words() {
    std::string word = "a";
    for (int i = 0; i < 3; ++i) {
        co_yield word;  // an lvalue: the body reads it again after resuming
        word += "b";
    }
}

weft::generator<std::string> const_words() {
    const std::string word = "const";
    co_yield word;
    co_yield word;
}

// Beazley's running average: send a number, get back the mean so far.
weft::generator<double, double> averager() {
    double total = 0;
    int count = 0;
    double mean = 0;
    while (true) {
        total += co_yield mean;
        ++count;
        mean = total / count;
    }
}

template <class Range>
std::vector<int> collect(Range&& range) {
    std::vector<int> out;
    for (auto&& x : range) out.push_back(x);
    return out;
}

}  // namespace

static_assert(std::ranges::input_range<weft::generator<int>>);
static_assert(std::ranges::view<weft::generator<int>>);
static_assert(!std::ranges::forward_range<weft::generator<int>>);
static_assert(std::movable<weft::generator<int>> && !std::copyable<weft::generator<int>>);
static_assert(std::same_as<std::ranges::range_reference_t<weft::generator<int>>, int&>);
static_assert(std::same_as<std::ranges::sentinel_t<weft::generator<int>>, std::default_sentinel_t>);
static_assert(!std::ranges::range<weft::generator<int, int>>);

TEST_CASE("count_up_to(5) yields 1 to 5 in a range-for") {
    std::vector<int> seen;
    for (int i : count_up_to(5)) seen.push_back(i);
    REQUIRE(seen == std::vector<int>{1, 2, 3, 4, 5});
}

TEST_CASE("next() returns each value and then empty, like Python's next()") {
    auto g = count_up_to(2);
    REQUIRE(g.next() == 1);
    REQUIRE(g.next() == 2);
    REQUIRE(g.next() == std::nullopt);
    REQUIRE(g.next() == std::nullopt);
}

TEST_CASE("a generator body runs only when and as far as it is consumed") {
    int steps = 0;
    auto g = count_with_side_effect(steps);
    REQUIRE(steps == 0);

    auto it = g.begin();
    REQUIRE(steps == 1);
    REQUIRE(*it == 1);

    ++it;
    REQUIRE(steps == 2);
    REQUIRE(*it == 2);

    SECTION("begin() again returns the current position without resuming") {
        REQUIRE(*g.begin() == 2);
        REQUIRE(steps == 2);
    }
    SECTION("next() after iterating continues from the current position") {
        REQUIRE(g.next() == 3);
        REQUIRE(steps == 3);
    }
}

TEST_CASE("a generator feeds std::views filter and transform pipelines") {
    auto squares_of_evens = count_up_to(10) | std::views::filter([](int i) { return i % 2 == 0; }) |
                            std::views::transform([](int i) { return i * i; });
    REQUIRE(collect(squares_of_evens) == std::vector<int>{4, 16, 36, 64, 100});
}

TEST_CASE("an infinite generator is consumed with views::take") {
    std::vector<int> firsts;
    for (long long i : naturals() | std::views::take(4)) firsts.push_back(static_cast<int>(i));
    REQUIRE(firsts == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("views::take resumes the body once past the last element it takes") {
    // counted_iterator increments the underlying iterator when the count reaches
    // zero, so the body runs to the yield after the last taken element.
    int steps = 0;
    std::vector<int> taken = collect(count_with_side_effect(steps) | std::views::take(3));
    REQUIRE(taken == std::vector<int>{1, 2, 3});
    REQUIRE(steps == 4);
}

TEST_CASE("an exception thrown in the body reaches the consumer") {
    SECTION("through operator++ in a range-for, after the values before it") {
        std::vector<int> seen;
        auto g = throwing_after(2);
        REQUIRE_THROWS_WITH(
            [&] {
                for (int i : g) seen.push_back(i);
            }(),
            "boom after 2");
        REQUIRE(seen == std::vector<int>{1, 2});
        REQUIRE(g.begin() == std::default_sentinel);
    }
    SECTION("through begin() when it is thrown before the first yield") {
        auto g = throwing_after(0);
        REQUIRE_THROWS_AS(g.begin(), std::runtime_error);
        REQUIRE(g.begin() == std::default_sentinel);
    }
    SECTION("through next(), after which the generator is finished") {
        auto g = throwing_after(1);
        REQUIRE(g.next() == 1);
        REQUIRE_THROWS_AS(g.next(), std::runtime_error);
        REQUIRE(g.next() == std::nullopt);
    }
}

TEST_CASE("destroying a half-consumed generator destroys the locals in its frame") {
    REQUIRE(counted::live == 0);
    {
        auto g = holding_two_counted(10);
        REQUIRE(counted::live == 0);  // lazy: the locals do not exist yet
        auto it = g.begin();
        ++it;
        REQUIRE(*it == 1);
        REQUIRE(counted::live == 2);
    }
    REQUIRE(counted::live == 0);
}

TEST_CASE("a generator that runs to the end destroys its locals before it is destroyed") {
    auto g = holding_two_counted(1);
    REQUIRE(g.next() == 0);
    REQUIRE(counted::live == 2);
    REQUIRE(g.next() == std::nullopt);
    REQUIRE(counted::live == 0);
}

TEST_CASE("a yielded lvalue is seen in place, and next() copies it") {
    SECTION("operator* refers to the body's variable") {
        auto g = words();
        auto it = g.begin();
        std::string* first = &*it;
        REQUIRE(*first == "a");
        ++it;
        REQUIRE(&*it == first);
        REQUIRE(*it == "ab");
    }
    SECTION("next() leaves the body's variable intact") {
        auto g = words();
        REQUIRE(g.next() == "a");
        REQUIRE(g.next() == "ab");
        REQUIRE(g.next() == "abb");
        REQUIRE(g.next() == std::nullopt);
    }
    SECTION("a const lvalue is copied once per yield") {
        auto g = const_words();
        REQUIRE(g.next() == "const");
        REQUIRE(g.next() == "const");
        REQUIRE(g.next() == std::nullopt);
    }
}

TEST_CASE("a move-only value type is moved out by next()") {
    auto g = boxed_up_to(3);
    std::vector<int> seen;
    while (std::optional<std::unique_ptr<int>> box = g.next()) {
        REQUIRE(*box != nullptr);
        seen.push_back(**box);
    }
    REQUIRE(seen == std::vector<int>{1, 2, 3});
}

TEST_CASE("a move-only value type can be read in a range-for") {
    int sum = 0;
    for (const std::unique_ptr<int>& box : boxed_up_to(4)) sum += *box;
    REQUIRE(sum == 10);
}

TEST_CASE("a million elements sum correctly without growing the stack") {
    long long sum = 0;
    for (long long i : naturals() | std::views::take(1'000'001)) sum += i;
    REQUIRE(sum == 500'000'500'000LL);

    long long chained = 0;
    for (long long i : weft::chain(naturals() | std::views::take(500'001),
                                   std::views::iota(500'001LL, 1'000'001LL)))
        chained += i;
    REQUIRE(chained == 500'000'500'000LL);
}

TEST_CASE("a moved-from generator throws usage_error when used") {
    auto g = count_up_to(3);
    auto moved = std::move(g);
    REQUIRE_THROWS_AS(g.next(), weft::usage_error);
    REQUIRE_THROWS_WITH(g.begin(), Catch::Contains("generator used after move"));
    REQUIRE(moved.next() == 1);

    g = count_up_to(1);
    REQUIRE(g.next() == 1);
}

TEST_CASE("the echo generator's send() returns what the body yields back") {
    auto g = echo();
    REQUIRE(g.next() == 0);
    REQUIRE(g.send(5) == 5);
    REQUIRE(g.send(7) == 7);
    REQUIRE(g.next() == 0);  // next() sends S{}, as Python's next() sends None
    REQUIRE(g.send(42) == 42);
}

TEST_CASE("a finished two-way generator returns empty from next() and send()") {
    auto g = echo();
    REQUIRE(g.next() == 0);
    REQUIRE(g.send(-1) == std::nullopt);
    REQUIRE(g.next() == std::nullopt);
    REQUIRE(g.send(3) == std::nullopt);
}

TEST_CASE("send() before the generator started throws usage_error and changes nothing") {
    auto g = echo();
    REQUIRE_THROWS_WITH(
        g.send(1), "generator::send called before the generator started; call next() first");
    REQUIRE_THROWS_AS(g.send(1), weft::usage_error);
    REQUIRE(g.next() == 0);
    REQUIRE(g.send(2) == 2);
}

TEST_CASE("a two-way generator keeps state across sends") {
    auto avg = averager();
    REQUIRE(avg.next() == 0.0);
    REQUIRE(avg.send(10) == 10.0);
    REQUIRE(avg.send(20) == 15.0);
    REQUIRE(avg.send(60) == 30.0);
}

TEST_CASE("a moved-from two-way generator throws usage_error when used") {
    auto g = echo();
    auto moved = std::move(g);
    REQUIRE_THROWS_WITH(g.send(1), Catch::Contains("generator used after move"));
    REQUIRE_THROWS_AS(g.next(), weft::usage_error);
    REQUIRE(moved.next() == 0);
}

TEST_CASE("chain of three generators yields each one's elements in order") {
    auto all = weft::chain(count_up_to(2), count_up_to(3), count_up_to(1));
    REQUIRE(collect(all) == std::vector<int>{1, 2, 1, 2, 3, 1});
}

TEST_CASE("chain accepts a vector and owns a copy of it") {
    std::vector<int> tail{7, 8};
    auto all = weft::chain(count_up_to(2), tail);
    tail.clear();
    REQUIRE(collect(all) == std::vector<int>{1, 2, 7, 8});
}

TEST_CASE("as_generator turns any input range into a lazy generator that owns it") {
    std::vector<int> v{4, 5, 6};
    auto g = weft::as_generator(v);  // a copy
    v.clear();
    REQUIRE(collect(g) == std::vector<int>{4, 5, 6});
    // A view is read lazily, element by element.
    int reads = 0;
    auto squares = weft::as_generator(std::views::iota(1, 4) | std::views::transform([&reads](int i) {
                                          ++reads;
                                          return i * i;
                                      }));
    REQUIRE(reads == 0);
    REQUIRE(squares.next() == 1);
    REQUIRE(reads == 1);
    REQUIRE(squares.next() == 4);
    REQUIRE(squares.next() == 9);
    REQUIRE_FALSE(squares.next().has_value());
    REQUIRE(reads == 3);
    // A generator comes back as it is.
    auto same = weft::as_generator(count_up_to(2));
    REQUIRE(collect(same) == std::vector<int>{1, 2});
}

TEST_CASE("chain is lazy and skips empty parts") {
    int steps = 0;
    auto all = weft::chain(std::vector<int>{}, count_up_to(0), count_with_side_effect(steps));
    REQUIRE(steps == 0);
    REQUIRE(all.next() == 1);
    REQUIRE(steps == 1);
}

TEST_CASE("chain destroys the frames of unconsumed parts") {
    {
        auto all = weft::chain(holding_two_counted(2), holding_two_counted(2));
        REQUIRE(all.next() == 0);
        REQUIRE(counted::live == 2);
    }
    REQUIRE(counted::live == 0);
}

TEST_CASE("chain moves out move-only values") {
    auto all = weft::chain(boxed_up_to(1), boxed_up_to(2));
    std::vector<int> seen;
    while (auto box = all.next()) seen.push_back(**box);
    REQUIRE(seen == std::vector<int>{1, 1, 2});
}
