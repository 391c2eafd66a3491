// Single-threaded tests for the Chase-Lev deque weft::detail::run_queue: LIFO pop,
// FIFO steal, the full ring, take_oldest_half(), and index wrap-around. The
// concurrent cases are in run_queue_stress.cpp.
#include <weft/detail/run_queue.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

using weft::detail::run_queue;

// Items are frame addresses whose bit 0 is a tag; tests use even numbers.
constexpr std::uintptr_t item(std::size_t i) { return static_cast<std::uintptr_t>((i + 1) * 2); }

}  // namespace

TEST_CASE("an empty run_queue gives 0 to pop and steal") {
    run_queue q(4);
    REQUIRE(q.capacity() == 4);
    REQUIRE(q.looks_empty());
    REQUIRE(q.pop() == 0);
    REQUIRE(q.steal() == 0);
    REQUIRE(q.looks_empty());  // a failed pop must leave the indices consistent
    REQUIRE(q.push(item(0)));
    REQUIRE_FALSE(q.looks_empty());
    REQUIRE(q.pop() == item(0));
    REQUIRE(q.pop() == 0);
}

TEST_CASE("run_queue pops newest first and steals oldest first") {
    const run_queue::sharing mode = GENERATE(run_queue::sharing::stealable, run_queue::sharing::stealable_fenced);
    run_queue q(8, mode);
    for (std::size_t i = 0; i < 6; ++i) REQUIRE(q.push(item(i)));
    REQUIRE(q.pop() == item(5));
    REQUIRE(q.steal() == item(0));
    REQUIRE(q.pop() == item(4));
    REQUIRE(q.steal() == item(1));
    REQUIRE(q.steal() == item(2));
    REQUIRE(q.pop() == item(3));
    REQUIRE(q.pop() == 0);
    REQUIRE(q.steal() == 0);
}

TEST_CASE("run_queue push returns false when the ring is full") {
    const std::size_t capacity = GENERATE(std::size_t{2}, std::size_t{4}, std::size_t{256});
    const run_queue::sharing mode = GENERATE(run_queue::sharing::stealable, run_queue::sharing::stealable_fenced);
    run_queue q(capacity, mode);
    for (std::size_t i = 0; i < capacity; ++i) REQUIRE(q.push(item(i)));
    REQUIRE_FALSE(q.push(item(capacity)));
    // A steal frees one slot, at the other end.
    REQUIRE(q.steal() == item(0));
    REQUIRE(q.push(item(capacity)));
    REQUIRE_FALSE(q.push(item(capacity + 1)));
    REQUIRE(q.pop() == item(capacity));
}

TEST_CASE("take_oldest_half claims the oldest half in order and leaves the newest") {
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    run_queue q(capacity);
    for (std::size_t i = 0; i < capacity; ++i) REQUIRE(q.push(item(i)));
    std::vector<std::uintptr_t> out(capacity / 2);
    REQUIRE(q.take_oldest_half(out.data()) == capacity / 2);
    for (std::size_t i = 0; i < capacity / 2; ++i) REQUIRE(out[i] == item(i));
    // Room again for capacity / 2 pushes.
    for (std::size_t i = capacity; i < capacity + capacity / 2; ++i) REQUIRE(q.push(item(i)));
    REQUIRE_FALSE(q.push(item(2 * capacity)));
    // What is left comes out newest first: the new items, then the old newer half.
    for (std::size_t i = capacity + capacity / 2; i-- > capacity / 2;) REQUIRE(q.pop() == item(i));
    REQUIRE(q.pop() == 0);
}

TEST_CASE("take_oldest_half takes nothing from a ring with fewer than two items") {
    run_queue q(4);
    std::uintptr_t out[2] = {0, 0};
    REQUIRE(q.take_oldest_half(out) == 0);
    REQUIRE(q.push(item(0)));
    REQUIRE(q.take_oldest_half(out) == 0);
    REQUIRE(q.pop() == item(0));
}

TEST_CASE("run_queue keeps every item intact as its indices wrap around the ring many times") {
    run_queue q(4);
    std::size_t next = 0;
    std::size_t taken = 0;
    std::uint64_t sum_taken = 0;
    for (int round = 0; round < 1000; ++round) {
        // Three in, then one from each end and one more from the bottom.
        const std::size_t first = next;
        for (int k = 0; k < 3; ++k) REQUIRE(q.push(item(next++)));
        const std::uintptr_t newest = q.pop();
        const std::uintptr_t oldest = q.steal();
        const std::uintptr_t middle = q.pop();
        REQUIRE(newest == item(first + 2));
        REQUIRE(oldest == item(first));
        REQUIRE(middle == item(first + 1));
        taken += 3;
        sum_taken += newest + oldest + middle;
        REQUIRE(q.looks_empty());
    }
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < next; ++i) expected += item(i);
    REQUIRE(taken == next);
    REQUIRE(sum_taken == expected);
}

TEST_CASE("clear_unsynchronized forgets every item") {
    run_queue q(4);
    for (std::size_t i = 0; i < 3; ++i) REQUIRE(q.push(item(i)));
    q.clear_unsynchronized();
    REQUIRE(q.looks_empty());
    REQUIRE(q.pop() == 0);
    REQUIRE(q.steal() == 0);
    for (std::size_t i = 0; i < 4; ++i) REQUIRE(q.push(item(i)));
    REQUIRE_FALSE(q.push(item(4)));
}

TEST_CASE("an owner_only run_queue pops newest first, overflows and wraps like a shared one") {
    const std::size_t capacity = GENERATE(std::size_t{2}, std::size_t{4}, std::size_t{256});
    run_queue q(capacity, run_queue::sharing::owner_only);
    REQUIRE(q.pop() == 0);
    REQUIRE(q.looks_empty());
    // Fill, overflow, hand the oldest half away (the overflow path), refill, and
    // drain: every item comes out exactly once, newest first, over many wraps.
    std::vector<std::uintptr_t> out(capacity / 2);
    std::size_t next = 0;
    for (int round = 0; round < 100; ++round) {
        const std::size_t first = next;
        for (std::size_t i = 0; i < capacity; ++i) REQUIRE(q.push(item(next++)));
        REQUIRE_FALSE(q.push(item(next)));
        REQUIRE(q.take_oldest_half(out.data()) == capacity / 2);
        for (std::size_t i = 0; i < capacity / 2; ++i) REQUIRE(out[i] == item(first + i));
        for (std::size_t i = next; i-- > first + capacity / 2;) REQUIRE(q.pop() == item(i));
        REQUIRE(q.pop() == 0);
        REQUIRE(q.looks_empty());
    }
}

TEST_CASE("the asymmetric fence's heavy side succeeds wherever it is available") {
    // The kernels weft supports (io_uring: 5.1 and later) all have expedited
    // membarrier; a seccomp filter may still refuse it, and then the queues keep
    // the seq_cst pop.
    if (!weft::detail::asymmetric_fence_available()) {
        WARN("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) is unavailable here: run queues use the seq_cst pop");
        return;
    }
    REQUIRE(weft::detail::asymmetric_fence_available());  // cached, and stays true
    for (int i = 0; i < 3; ++i) REQUIRE(weft::detail::heavy_fence());
}
