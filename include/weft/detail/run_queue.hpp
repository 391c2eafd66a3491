// A worker's local run queue: a bounded Chase-Lev work-stealing deque of task
// handles. Lives in detail/ (not runtime/) because the fork-join fast path in
// when_all and join_handle pushes and pops it inline in user code.
//
// Layout. `top_` and `bottom_` are monotonically growing 64-bit indices into a
// power-of-two ring; the live items are [top_, bottom_). The owner pushes and pops
// at `bottom_`; thieves take the oldest item at `top_` with a CAS. 64-bit indices
// never wrap in practice (2^63 pushes), so there is no ABA on `top_`.
//
// The last-element race. When one item is left, the owner's pop and a thief's
// steal both want it. The owner first publishes `bottom_ - 1` (seq_cst), then reads
// `top_` (seq_cst); a thief reads `top_` then `bottom_` (both seq_cst). In the single
// total order of those four operations either the thief sees the lowered bottom and
// backs off, or the owner sees that top and bottom meet and settles the item with
// the same CAS on `top_` the thief uses: exactly one of them wins it.
//
// Asymmetric mode (the default for a stealable queue where Linux supports it).
// The owner pops far more often than thieves steal (a fork-join pops once per
// fork; fib 32 at 2 workers steals about 20 times in 7 million pops), so the
// owner's half of that race uses the light side of an asymmetric fence
// (asymmetric_fence.hpp): a release store of `bottom_`, a compiler-only fence,
// a load of `top_`. A thief that finds items runs the heavy side (membarrier)
// between its load of `top_` and a second load of `bottom_`, and decides on the
// second. The fence's pairing gives the same outcome as the seq_cst total order:
// either the thief's second load sees the lowered bottom and it backs off, or
// the owner's load of `top_` sees the thief's `top_` (or a later one) and the
// owner settles the item with the CAS. The seq_cst store cost 3-6 % of fib's
// and skynet's time at 2 workers (weft-forkjoin, 2-core VM, 2026-12-02); a steal
// now costs a system call. `stealable_fenced`, or a kernel without expedited
// membarrier, keeps the seq_cst pop.
//
// Private mode. A runtime with one worker has no thieves: nothing ever calls
// steal() on its queue, so pop() needs no last-element race and no fence at all.
//
// Items are `std::uintptr_t`: a coroutine frame address, whose bit 0 may carry a
// tag (see worker_context.hpp). 0 means "nothing".
#pragma once

#include <weft/detail/always_inline.hpp>
#include <weft/detail/asymmetric_fence.hpp>

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace weft::detail {

class run_queue {
public:
    // `stealable`: asymmetric mode where the kernel supports it, else the seq_cst
    // pop. `stealable_fenced`: the seq_cst pop always. `owner_only`: the caller
    // promises that no thread but the owner ever calls steal() (see "Private
    // mode" above).
    enum class sharing { stealable, stealable_fenced, owner_only };

    explicit run_queue(std::size_t capacity, sharing mode = sharing::stealable)
        : mask_(static_cast<std::int64_t>(capacity) - 1),
          owner_only_(mode == sharing::owner_only),
          asymmetric_(mode == sharing::stealable && asymmetric_fence_available()),
          slots_(new std::atomic<std::uintptr_t>[capacity]) {
        assert(capacity >= 2 && (capacity & (capacity - 1)) == 0);
        for (std::size_t i = 0; i < capacity; ++i) slots_[i].store(0, std::memory_order_relaxed);
    }

    run_queue(const run_queue&) = delete;
    run_queue& operator=(const run_queue&) = delete;

    std::size_t capacity() const noexcept { return static_cast<std::size_t>(mask_ + 1); }

    // Owner only. Returns false when the ring is full (the caller moves half of it
    // to the injector with take_oldest_half() and pushes again).
    WEFT_ALWAYS_INLINE bool push(std::uintptr_t item) noexcept {
        // relaxed: only the owner writes bottom_.
        const std::int64_t b = bottom_.load(std::memory_order_relaxed);
        // acquire: pairs with a thief's CAS on top_, so that the slot it read before
        // advancing top_ is not overwritten under it.
        const std::int64_t t = top_.load(std::memory_order_acquire);
        if (b - t > mask_) return false;
        // relaxed: published by the release store of bottom_ below.
        slot(b).store(item, std::memory_order_relaxed);
        // release: publishes the slot write to a thief's seq_cst (acquiring) load
        // of bottom_ in steal(); without it a thief could read a stale slot.
        bottom_.store(b + 1, std::memory_order_release);
        return true;
    }

    // Owner only. Takes the newest item; 0 when empty.
    WEFT_ALWAYS_INLINE std::uintptr_t pop() noexcept {
        const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
        // Empty without the fence: top_ only grows and only we move bottom_, so a
        // top_ at or past bottom_, however stale, means the deque is empty now and
        // stays so until we push. relaxed: nothing is read from a slot on this
        // path. (A worker out of work asks on every loop turn; the seq_cst store
        // below is a full barrier.)
        if (top_.load(std::memory_order_relaxed) > b) return 0;
        if (owner_only_) {
            // No thief (private mode): top_ moves only in our own overflow path, so
            // the item at b is ours. relaxed: no other thread reads bottom_ to
            // take an item (looks_empty() readers only take a hint from it).
            bottom_.store(b, std::memory_order_relaxed);
            return slot(b).load(std::memory_order_relaxed);
        }
        std::int64_t t;
        if (asymmetric_) [[likely]] {
            // The light side of the last-element race (see "Asymmetric mode"):
            // the signal fence keeps the compiler from moving the load of top_
            // above the store; a thief's heavy fence orders them against its own
            // loads. release: like the seq_cst store below, so a thief that reads
            // this value of bottom_ still sees every slot written before it.
            // acquire (free on x86): what a thief did before its CAS on top_.
            bottom_.store(b, std::memory_order_release);
            std::atomic_signal_fence(std::memory_order_seq_cst);
            t = top_.load(std::memory_order_acquire);
        } else {
            // seq_cst store + seq_cst load of top_: the owner's half of the
            // last-element race (see the header comment). A thief's seq_cst loads
            // of top_ and bottom_ are the other half. seq_cst also makes it a
            // release store, so a thief that reads this value of bottom_ still
            // sees every slot written before it.
            bottom_.store(b, std::memory_order_seq_cst);
            t = top_.load(std::memory_order_seq_cst);
        }
        if (t > b) {
            // Empty: undo the reservation. release: same reason as in push().
            bottom_.store(b + 1, std::memory_order_release);
            return 0;
        }
        // relaxed: the owner wrote this slot itself.
        std::uintptr_t item = slot(b).load(std::memory_order_relaxed);
        if (t == b) {
            // Last item: race the thieves for it with their own CAS on top_.
            // seq_cst on success orders it with the thieves' CAS; relaxed on
            // failure: we only learn that a thief took it.
            if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                              std::memory_order_relaxed)) {
                item = 0;
            }
            bottom_.store(b + 1, std::memory_order_release);
        }
        return item;
    }

    // Any thread. Takes the oldest item; 0 when empty or when another thief or the
    // owner won the race for it (the caller may try again later).
    std::uintptr_t steal() noexcept {
        // seq_cst loads: the thief's half of the last-element race; the load of
        // bottom_ also acquires the slot writes published by push().
        std::int64_t t = top_.load(std::memory_order_seq_cst);
        const std::int64_t b = bottom_.load(std::memory_order_seq_cst);
        if (t >= b) return 0;
        if (asymmetric_) {
            // The heavy side (see "Asymmetric mode"), only once the ring looks
            // non-empty. top_ was read before it; the decision rests on the
            // bottom_ read after it. A failed fence counts as a lost race.
            if (!heavy_fence()) return 0;
            if (t >= bottom_.load(std::memory_order_seq_cst)) return 0;
        }
        // relaxed: the acquire of bottom_ above made the slot write visible; if the
        // owner has since reused the slot, the CAS below fails and we drop the value.
        const std::uintptr_t item = slot(t).load(std::memory_order_relaxed);
        // seq_cst: orders the claim with the owner's last-element CAS and with
        // other thieves; acquire-release for push()'s acquire load of top_.
        if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
            return 0;
        }
        return item;
    }

    // Owner only, when push() found the ring full: claims the oldest half of the
    // items with one CAS on top_ (the same claim a thief makes for one item) and
    // copies them to `out`, which must hold capacity()/2 items. Returns how many it
    // took (0 if thieves emptied the ring meanwhile; the caller then just pushes).
    std::size_t take_oldest_half(std::uintptr_t* out) noexcept {
        const std::int64_t b = bottom_.load(std::memory_order_relaxed);
        for (;;) {
            // acquire: pairs with thieves' CAS on top_ (see push()).
            std::int64_t t = top_.load(std::memory_order_acquire);
            const std::int64_t n = (b - t) / 2;
            if (n <= 0) return 0;
            for (std::int64_t i = 0; i < n; ++i)
                out[i] = slot(t + i).load(std::memory_order_relaxed);
            // seq_cst: the same claim protocol as steal(); a thief that loses
            // retries on the new top_. Only the owner moves bottom_, so the items
            // read above stay ours once the CAS succeeds.
            if (top_.compare_exchange_strong(t, t + n, std::memory_order_seq_cst,
                                             std::memory_order_relaxed)) {
                return static_cast<std::size_t>(n);
            }
        }
    }

    // Any thread; a hint only (used to pick victims and to re-check before parking).
    bool looks_empty() const noexcept {
        // acquire on both: a "non-empty" answer is followed by steal(), which
        // re-reads both with seq_cst; here we only need fresh-enough values.
        const std::int64_t t = top_.load(std::memory_order_acquire);
        const std::int64_t b = bottom_.load(std::memory_order_acquire);
        return b <= t;
    }

    // Owner only, after all thieves are gone (shutdown): forget every item.
    void clear_unsynchronized() noexcept {
        top_.store(bottom_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    }

private:
    // top_: written by thieves' CAS and the owner's last-element / overflow CAS;
    // read by everyone.
    alignas(64) std::atomic<std::int64_t> top_{0};
    // bottom_: written only by the owner; read by thieves.
    alignas(64) std::atomic<std::int64_t> bottom_{0};
    alignas(64) const std::int64_t mask_;
    const bool owner_only_;
    const bool asymmetric_;
    const std::unique_ptr<std::atomic<std::uintptr_t>[]> slots_;

    // The slot of position i (indices only grow; the mask wraps them).
    std::atomic<std::uintptr_t>& slot(std::int64_t i) const noexcept {
        return slots_[static_cast<std::size_t>(i & mask_)];
    }
};

}  // namespace weft::detail
