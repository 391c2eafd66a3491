// The timing wheel. Level L holds entries whose tick differs from elapsed_ first in
// bits [6L, 6L+6); slot = those six bits. So every entry of level L fires or
// cascades when elapsed_ reaches the start of its slot, and an entry moves down a
// level each time it cascades: insert and cancel are O(1), firing is O(1) per
// entry and level.
#include "wheel.hpp"

#include <bit>
#include <thread>

namespace weft::detail {

namespace {

constexpr unsigned k_bits = 6;
// The wheel spans 2^36 ticks (about 2.2 years at 1 ms); later deadlines wait in
// the top level and cascade again until they are in range.
constexpr std::uint64_t k_max_ahead = (std::uint64_t{1} << (k_bits * timer_wheel::k_levels)) - 1;

unsigned level_for(std::uint64_t elapsed, std::uint64_t when) noexcept {
    const std::uint64_t masked = (elapsed ^ when) | (timer_wheel::k_slots - 1);
    const unsigned significant = 63 - static_cast<unsigned>(std::countl_zero(masked));
    const unsigned level = significant / k_bits;
    return level < timer_wheel::k_levels ? level : timer_wheel::k_levels - 1;
}

}  // namespace

timer_wheel::timer_wheel(std::int64_t now_ns) : epoch_ns_(now_ns) {}

std::uint64_t timer_wheel::tick_at_or_after(std::int64_t ns) const noexcept {
    if (ns <= epoch_ns_) return 0;
    return static_cast<std::uint64_t>((ns - epoch_ns_ + k_tick_ns - 1) / k_tick_ns);
}

std::uint64_t timer_wheel::tick_before(std::int64_t ns) const noexcept {
    if (ns <= epoch_ns_) return 0;
    return static_cast<std::uint64_t>((ns - epoch_ns_) / k_tick_ns);
}

void timer_wheel::link(timer_entry& e) noexcept {
    e.linked_ = true;
    e.prev_ = nullptr;
    timer_entry** head;
    if (e.tick_ <= elapsed_) {
        e.level_ = k_levels;
        head = &expired_;
    } else {
        // Beyond the wheel's span: park it at the furthest slot; it cascades back.
        const std::uint64_t when = e.tick_ - elapsed_ > k_max_ahead ? elapsed_ + k_max_ahead : e.tick_;
        e.level_ = static_cast<std::uint8_t>(level_for(elapsed_, when));
        e.slot_ = static_cast<std::uint8_t>((when >> (k_bits * e.level_)) & (k_slots - 1));
        occupied_[e.level_] |= std::uint64_t{1} << e.slot_;
        head = &slots_[e.level_][e.slot_];
    }
    e.next_ = *head;
    if (e.next_ != nullptr) e.next_->prev_ = &e;
    *head = &e;
}

void timer_wheel::unlink(timer_entry& e) noexcept {
    timer_entry** head = e.level_ == k_levels ? &expired_ : &slots_[e.level_][e.slot_];
    if (e.prev_ != nullptr)
        e.prev_->next_ = e.next_;
    else
        *head = e.next_;
    if (e.next_ != nullptr) e.next_->prev_ = e.prev_;
    if (e.level_ != k_levels && *head == nullptr) occupied_[e.level_] &= ~(std::uint64_t{1} << e.slot_);
    e.prev_ = e.next_ = nullptr;
    e.linked_ = false;
}

bool timer_wheel::insert(timer_entry& e) noexcept {
    e.tick_ = tick_at_or_after(e.deadline_ns_);
    std::lock_guard lock(mutex_);
    if (e.withdrawn_) return false;
    link(e);
    size_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a hint (size())
    return true;
}

bool timer_wheel::remove(timer_entry& e) noexcept {
    std::lock_guard lock(mutex_);
    if (!e.linked_) {
        // Not inserted yet: a cancel that came between the owner's registering
        // in its scope and its insert. The insert will refuse it.
        // relaxed: `firing` is stored under the lock, so an entry the wheel took
        // never reads as `none` here.
        if (e.hold_.load(std::memory_order_relaxed) == timer_entry::hold::none) e.withdrawn_ = true;
        return false;
    }
    unlink(e);
    size_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a hint (size())
    return true;
}

void timer_wheel::wait_until_fired(const timer_entry& e) noexcept {
    // acquire: pairs with the release in fire_expired(); fire_ is short (it
    // resumes nothing inline), so this spin is brief.
    while (e.hold_.load(std::memory_order_acquire) == timer_entry::hold::firing) std::this_thread::yield();
}

std::optional<timer_wheel::slot_ref> timer_wheel::next_slot() const noexcept {
    std::optional<slot_ref> best;
    for (unsigned level = 0; level < k_levels; ++level) {
        if (occupied_[level] == 0) continue;
        const unsigned shift = k_bits * level;
        const unsigned now_slot = static_cast<unsigned>((elapsed_ >> shift) & (k_slots - 1));
        // The first occupied slot from now_slot on, wrapping. Below the top level
        // nothing sits at or before now_slot: a slot fires or cascades as soon as
        // elapsed_ reaches its start. At the top level such a slot belongs to the
        // next turn of the wheel (a deadline up to k_max_ahead away).
        const unsigned slot =
            (static_cast<unsigned>(std::countr_zero(std::rotr(occupied_[level], static_cast<int>(now_slot)))) + now_slot) %
            k_slots;
        const std::uint64_t level_span = std::uint64_t{1} << (shift + k_bits);
        std::uint64_t start = (elapsed_ & ~(level_span - 1)) + (std::uint64_t{slot} << shift);
        if (start <= elapsed_ && level == k_levels - 1) start += level_span;
        if (!best || start < best->start_tick) best = slot_ref{level, slot, start};
    }
    return best;
}

std::optional<std::int64_t> timer_wheel::next_deadline_ns() noexcept {
    std::lock_guard lock(mutex_);
    if (expired_ != nullptr) return epoch_ns_;
    const auto next = next_slot();
    if (!next) return std::nullopt;
    return epoch_ns_ + static_cast<std::int64_t>(next->start_tick) * k_tick_ns;
}

namespace {

// Sorts a list linked through next_ by deadline, earliest first (stable), and
// relinks prev_. A merge sort: batches of thousands of timers due at once stay
// O(n log n).
timer_entry* sort_by_deadline(timer_entry* head) noexcept {
    if (head == nullptr || head->next_ == nullptr) return head;
    timer_entry* slow = head;
    for (timer_entry* fast = head->next_; fast != nullptr && fast->next_ != nullptr; fast = fast->next_->next_)
        slow = slow->next_;
    timer_entry* second = slow->next_;
    slow->next_ = nullptr;
    timer_entry* a = sort_by_deadline(head);
    timer_entry* b = sort_by_deadline(second);
    timer_entry* merged = nullptr;
    timer_entry** tail = &merged;
    while (a != nullptr && b != nullptr) {
        timer_entry*& pick = b->deadline_ns_ < a->deadline_ns_ ? b : a;
        *tail = pick;
        tail = &pick->next_;
        pick = pick->next_;
    }
    *tail = a != nullptr ? a : b;
    timer_entry* prev = nullptr;
    for (timer_entry* e = merged; e != nullptr; e = e->next_) {
        e->prev_ = prev;
        prev = e;
    }
    return merged;
}

}  // namespace

std::size_t timer_wheel::fire_expired(std::int64_t now_ns) noexcept {
    const std::uint64_t now = tick_before(now_ns);
    {
        std::lock_guard lock(mutex_);
        // Everything due moves to the expired list, still linked: a cancel that
        // comes before its turn to fire unlinks it as usual (remove() is true)
        // and it never fires.
        for (;;) {
            const auto next = next_slot();
            if (!next || next->start_tick > now) break;
            timer_entry* list = slots_[next->level][next->slot];
            slots_[next->level][next->slot] = nullptr;
            occupied_[next->level] &= ~(std::uint64_t{1} << next->slot);
            if (next->start_tick > elapsed_) elapsed_ = next->start_tick;
            while (list != nullptr) {
                timer_entry* e = list;
                list = e->next_;
                if (e->tick_ <= now) {
                    e->level_ = k_levels;
                    e->prev_ = nullptr;
                    e->next_ = expired_;
                    if (expired_ != nullptr) expired_->prev_ = e;
                    expired_ = e;
                } else {
                    link(*e);  // cascade to a lower level
                }
            }
        }
        if (now > elapsed_) elapsed_ = now;
        expired_ = sort_by_deadline(expired_);
    }
    // One at a time, earliest deadline first, each taken under the lock. So a
    // timer that fires cancels the later ones it should (timeout's deadline
    // cancels its child's sleep that fell due in the same poll of this wheel):
    // asyncio's order, where the deadline that passed first wins. (A child
    // sleeping on another worker's wheel is not ordered with it.)
    std::size_t fired = 0;
    for (;;) {
        timer_entry* e;
        {
            std::lock_guard lock(mutex_);
            e = expired_;
            if (e == nullptr) break;
            unlink(*e);
            // relaxed: published to remove()'s callers by the unlock.
            e->hold_.store(timer_entry::hold::firing, std::memory_order_relaxed);
            size_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a hint (size())
        }
        e->fire_(*e);
        // release: pairs with the owner's acquire loads (wait_until_fired(),
        // deadline_canceller::disarm); it then sees what fire_ wrote. This is
        // the wheel's last touch of the entry: its owner may be resumed
        // elsewhere by fire_ (a timeout's cancel) and free it right after.
        e->hold_.store(timer_entry::hold::released, std::memory_order_release);
        ++fired;
    }
    return fired;
}

void timer_wheel::unlink_all() noexcept {
    std::lock_guard lock(mutex_);
    auto forget = [](timer_entry*& head) {
        while (timer_entry* e = head) {
            head = e->next_;
            e->prev_ = e->next_ = nullptr;
            e->linked_ = false;
            // release: pairs with the owner's acquire load before it would
            // touch the wheel (deadline_canceller::disarm).
            e->hold_.store(timer_entry::hold::released, std::memory_order_release);
        }
    };
    forget(expired_);
    for (unsigned level = 0; level < k_levels; ++level) {
        for (auto& head : slots_[level]) forget(head);
        occupied_[level] = 0;
    }
    size_.store(0, std::memory_order_relaxed);
}

}  // namespace weft::detail
