// Concurrent stress tests for the Chase-Lev deque weft::detail::run_queue: one
// owner pushing and popping (and spilling half the ring when full, as the worker
// does) against two thieves; every item must be taken exactly once. Item counts
// are divided by WEFT_STRESS_SCALE.
#include <weft/detail/run_queue.hpp>

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using weft::detail::run_queue;
using weft_test::scaled;

// Items are (i + 1) * 2: nonzero (0 means "nothing") and even (bit 0 is a tag).
constexpr std::uintptr_t item(std::size_t i) { return static_cast<std::uintptr_t>((i + 1) * 2); }

// How often each item was taken, by anyone. Written by the owner and the
// thieves (relaxed RMWs: only the totals matter, read after join()).
class tally {
public:
    explicit tally(std::size_t n) : taken_(n) {}

    void take(std::uintptr_t x) noexcept {
        if (x == 0 || x % 2 != 0 || x / 2 - 1 >= taken_.size()) {
            bad_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        taken_[x / 2 - 1].fetch_add(1, std::memory_order_relaxed);
    }

    // Items taken other than exactly once, plus values that were never items.
    std::size_t errors() const noexcept {
        std::size_t e = bad_.load();
        for (const auto& t : taken_) e += t.load() != 1 ? 1 : 0;
        return e;
    }
    std::uint64_t total() const noexcept {
        std::uint64_t s = 0;
        for (const auto& t : taken_) s += t.load();
        return s;
    }

private:
    std::vector<std::atomic<std::uint32_t>> taken_;
    std::atomic<std::size_t> bad_{0};
};

// A short busy wait that the compiler keeps.
inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

void spin_pause(unsigned& spins) {
    // Three threads on two cores: back off to the OS now and then, or a spinning
    // waiter can starve the thread it waits for.
    if (++spins % 64 == 0) std::this_thread::yield();
}

// `stealable` is the asymmetric-fence pop where the kernel has expedited
// membarrier (run_queue.hpp), `stealable_fenced` the seq_cst pop.
const char* mode_name(run_queue::sharing mode) {
    if (mode == run_queue::sharing::stealable_fenced) return "seq_cst pop";
    return weft::detail::asymmetric_fence_available() ? "asymmetric-fence pop" : "seq_cst pop (no membarrier)";
}

struct owner_stats {
    std::uint64_t popped = 0;
    std::uint64_t overflows = 0;
    std::uint64_t spilled = 0;
};

// The owner pushes every item, in blocks of 1000 of three kinds: push only (the
// ring fills up); pop after every third push; pop twice after every push (the
// ring drains, then holds one item at a time, so nearly every pop races the
// thieves for the last one). A full ring is handled as push_overflow() does: take_oldest_half()
// claims the oldest half (here: the owner counts them as taken), then push again.
owner_stats run_owner(run_queue& q, tally& t, std::size_t n, std::atomic<bool>& owner_done) {
    owner_stats s;
    std::vector<std::uintptr_t> spill(q.capacity() / 2);
    for (std::size_t i = 0; i < n; ++i) {
        // A little slack now and then, so the thieves (which share two cores with
        // the owner) get to the ring while it holds items.
        for (std::size_t k = 0; k < i % 8; ++k) cpu_pause();
        while (!q.push(item(i))) {
            ++s.overflows;
            const std::size_t k = q.take_oldest_half(spill.data());
            for (std::size_t j = 0; j < k; ++j) t.take(spill[j]);
            s.spilled += k;
        }
        const std::size_t block = (i / 1000) % 3;
        const int pops = block == 2 ? 2 : block == 1 && i % 3 == 0 ? 1 : 0;
        for (int p = 0; p < pops; ++p) {
            if (const std::uintptr_t x = q.pop()) {
                t.take(x);
                ++s.popped;
            }
        }
    }
    // pop() gives 0 only once the ring is empty (it may lose the last item to a
    // thief, which then has it); nobody pushes any more, so it stays empty.
    while (const std::uintptr_t x = q.pop()) {
        t.take(x);
        ++s.popped;
    }
    owner_done.store(true);
    return s;
}

std::uint64_t run_thief(run_queue& q, tally& t, const std::atomic<bool>& owner_done) {
    std::uint64_t stolen = 0;
    unsigned spins = 0;
    while (!owner_done.load() || !q.looks_empty()) {
        if (const std::uintptr_t x = q.steal()) {
            t.take(x);
            ++stolen;
        } else {
            spin_pause(spins);
        }
    }
    return stolen;
}

}  // namespace

TEST_CASE("run_queue: every item is taken exactly once by the owner's pops and spills and two thieves",
          "[stress]") {
    const std::size_t capacity = GENERATE(std::size_t{4}, std::size_t{256});
    const run_queue::sharing mode = GENERATE(run_queue::sharing::stealable, run_queue::sharing::stealable_fenced);
    const std::size_t n = scaled<std::size_t>(1'000'000);
    run_queue q(capacity, mode);
    tally t(n);
    std::atomic<bool> owner_done{false};
    std::uint64_t stolen[2] = {0, 0};
    std::thread thieves[2];
    for (int k = 0; k < 2; ++k) thieves[k] = std::thread([&, k] { stolen[k] = run_thief(q, t, owner_done); });
    const owner_stats s = run_owner(q, t, n, owner_done);
    for (std::thread& th : thieves) th.join();

    INFO(mode_name(mode) << ", capacity " << capacity << ": popped " << s.popped << ", spilled " << s.spilled << " in " << s.overflows
                     << " overflows, stolen " << stolen[0] << " + " << stolen[1]);
    REQUIRE(t.errors() == 0);
    REQUIRE(t.total() == n);
    REQUIRE(s.popped + s.spilled + stolen[0] + stolen[1] == n);
    REQUIRE(q.looks_empty());
    // Both concurrent paths really ran.
    REQUIRE(stolen[0] + stolen[1] > 0);
    if (capacity == 4) REQUIRE(s.overflows > 0);
}

TEST_CASE("run_queue: the last item goes to exactly one of the owner's pop and two thieves' steals",
          "[stress]") {
    const run_queue::sharing mode = GENERATE(run_queue::sharing::stealable, run_queue::sharing::stealable_fenced);
    const std::size_t rounds = scaled<std::size_t>(100'000);
    run_queue q(4, mode);
    tally t(rounds);
    // round_: the round whose single item is in the ring (written by the owner,
    // after its push). acks_: thieves done with their steal (each adds 1 per round).
    std::atomic<std::size_t> round{0};
    std::atomic<std::size_t> acks{0};
    std::atomic<std::uint64_t> thief_wins{0};
    std::uint64_t owner_wins = 0;
    auto thief = [&] {
        unsigned spins = 0;
        for (std::size_t r = 1; r <= rounds; ++r) {
            while (round.load() < r) spin_pause(spins);
            if (const std::uintptr_t x = q.steal()) {
                t.take(x);
                thief_wins.fetch_add(1);
            }
            acks.fetch_add(1);
        }
    };
    std::thread a(thief);
    std::thread b(thief);
    unsigned spins = 0;
    std::size_t failed_pushes = 0;
    std::size_t left_behind = 0;
    for (std::size_t r = 1; r <= rounds; ++r) {
        if (!q.push(item(r - 1))) ++failed_pushes;
        round.store(r);
        // A delay that varies from round to round (0 to ~1000 pauses), so the
        // owner's pop lands before, during and after the thieves' steals.
        for (std::size_t k = 0, d = (r * 37) % 1024; k < d; ++k) cpu_pause();
        if (const std::uintptr_t x = q.pop()) {
            t.take(x);
            ++owner_wins;
        }
        while (acks.load() < 2 * r) spin_pause(spins);
        // Whoever won, the ring is empty again before the next round.
        if (!q.looks_empty()) {
            ++left_behind;
            while (const std::uintptr_t x = q.pop()) t.take(x);
        }
    }
    a.join();
    b.join();
    INFO(mode_name(mode) << ": owner won " << owner_wins << ", thieves won " << thief_wins.load() << " of " << rounds);
    REQUIRE(failed_pushes == 0);
    REQUIRE(left_behind == 0);
    REQUIRE(t.errors() == 0);
    REQUIRE(owner_wins + thief_wins.load() == rounds);
    // The race really happened both ways.
    REQUIRE(owner_wins > 0);
    REQUIRE(thief_wins.load() > 0);
}
