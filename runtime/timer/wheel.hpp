// The per-worker hierarchical timing wheel (model: Tokio's time/wheel): six levels
// of 64 slots at 1 ms resolution, O(1) insert and cancel, and the next deadline
// that bounds the worker's reactor wait.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

namespace weft::detail {

// One pending timer. Lives wherever its owner puts it (an awaiter in a suspended
// frame, a timeout's canceller) and must stay put while linked.
struct timer_entry {
    // Called on the wheel's worker, outside the wheel's lock, once the deadline
    // has passed. It must not destroy the entry: the wheel releases it after.
    void (*fire_)(timer_entry&) noexcept = nullptr;
    void* context_ = nullptr;  // for fire_: whatever embeds the entry
    std::int64_t deadline_ns_ = 0;  // steady_clock, ns since its epoch
    // Under the wheel's lock.
    std::uint64_t tick_ = 0;
    timer_entry* prev_ = nullptr;
    timer_entry* next_ = nullptr;
    std::uint8_t level_ = 0;  // k_levels: the expired list
    std::uint8_t slot_ = 0;
    bool linked_ = false;
    // remove() came before insert(): insert() refuses the entry.
    bool withdrawn_ = false;
    // The wheel's hold on the entry, one atomic so that the wheel's last touch is
    // a single store. `firing` is set under the lock when the wheel takes the
    // entry to fire it. `released` (release) comes once the wheel is done with
    // the entry for good: after its fire_ returned, or when unlink_all() forgot
    // it at the worker's stop. From then on the owner may free the entry, and
    // must not call remove() any more: the wheel may be gone by the time the
    // owner is destroyed (a join_handle dropped after its runtime). An owner
    // that remove() could not unlink waits for `firing` to end, see
    // wait_until_fired().
    enum class hold : std::uint8_t { none, firing, released };
    std::atomic<hold> hold_{hold::none};
};

class timer_wheel {
public:
    static constexpr unsigned k_levels = 6;
    static constexpr unsigned k_slots = 64;
    static constexpr std::int64_t k_tick_ns = 1'000'000;  // 1 ms

    explicit timer_wheel(std::int64_t now_ns);

    // Any thread. The entry fires at the first tick at or after its deadline, so
    // never early; entries already due fire at the next fire_expired() (or
    // the one in progress).
    // weft inserts only on the wheel's own worker (a sleep or timeout uses the
    // wheel of the worker it runs on): reactor::park() relies on it when it
    // reads size() == 0 as "no deadline" without the lock. An insert from another
    // thread would also need to wake the worker, which nothing does.
    // False, and the entry stays out, when remove() came first (see remove()).
    [[nodiscard]] bool insert(timer_entry& e) noexcept;
    // Any thread. True when the entry was pending and now never fires; false when
    // it was not linked (it fired, is firing right now, or was not inserted yet:
    // then a later insert() refuses it, so that a canceller that runs between
    // its owner's registering and inserting is not lost).
    bool remove(timer_entry& e) noexcept;
    // After remove() returned false: waits until a concurrent fire_ has returned.
    static void wait_until_fired(const timer_entry& e) noexcept;

    // The wheel's worker: fires every entry due at `now_ns`, earliest deadline
    // first and one at a time, so that one firing can still cancel a later one
    // (remove() is true until an entry's turn comes); returns how many fired.
    std::size_t fire_expired(std::int64_t now_ns) noexcept;
    // When fire_expired() next has work (a slot to fire or to cascade), in ns; none
    // when the wheel is empty.
    std::optional<std::int64_t> next_deadline_ns() noexcept;

    // Pending entries, for the worker's cheap "anything to poll?" check.
    std::size_t size() const noexcept {
        // relaxed: a hint; the worker reads it and acts under the lock.
        return size_.load(std::memory_order_relaxed);
    }

    // Shutdown, after the worker stopped: forget every entry (their owners may
    // be destroyed later and must not touch the wheel).
    void unlink_all() noexcept;

private:
    struct slot_ref {
        unsigned level;
        unsigned slot;
        std::uint64_t start_tick;
    };

    void link(timer_entry& e) noexcept;
    void unlink(timer_entry& e) noexcept;
    std::optional<slot_ref> next_slot() const noexcept;
    std::uint64_t tick_at_or_after(std::int64_t ns) const noexcept;
    std::uint64_t tick_before(std::int64_t ns) const noexcept;

    std::mutex mutex_;
    const std::int64_t epoch_ns_;
    // Under mutex_: every tick up to and including elapsed_ has fired.
    std::uint64_t elapsed_ = 0;
    std::uint64_t occupied_[k_levels] = {};
    timer_entry* slots_[k_levels][k_slots] = {};
    // Due: inserted when already due, or moved here by fire_expired() to wait
    // for their turn (sorted by deadline there); still linked, so removable.
    timer_entry* expired_ = nullptr;
    std::atomic<std::size_t> size_{0};
};

}  // namespace weft::detail
