// weft::mutex's slow paths: queueing behind the holder and FIFO hand-off.
#include <weft/mutex.hpp>

namespace weft {

mutex::~mutex() {
    std::lock_guard lock(guard_);
    waiters_.forget_all();
    // Handed the mutex, its task never resumed, and its frame is still to be
    // destroyed (a runtime's shutdown destroys frames in any order).
    if (granted_ != nullptr) granted_->slot_ = nullptr;
}

void mutex::drop_handoff(detail::sync_waiter& w) noexcept {
    {
        std::lock_guard lock(guard_);
        granted_ = nullptr;
        w.slot_ = nullptr;
    }
    unlock_owned();
}

bool mutex::lock_or_announce_waiter() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    for (;;) {
        if (s == 0) {
            // acquire: as in try_lock().
            if (state_.compare_exchange_weak(s, k_locked, std::memory_order_acquire, std::memory_order_relaxed))
                return true;
        } else if (s & k_waiters) {
            return false;
        } else {
            // relaxed: the bit only diverts unlock() to the slow path, which takes
            // guard_ (held by us) and so sees our queued waiter.
            if (state_.compare_exchange_weak(s, s | k_waiters, std::memory_order_relaxed)) return false;
        }
    }
}

void mutex::unlock() {
    if (state_.load(std::memory_order_relaxed) == 0)  // relaxed: a misuse check
        throw usage_error("weft::mutex::unlock: the mutex is not locked");
    unlock_owned();
}

void mutex::unlock_owned() noexcept {
    std::uint32_t expected = k_locked;
    // release: publishes the critical section to the next try_lock()'s acquire.
    if (state_.compare_exchange_strong(expected, 0, std::memory_order_release, std::memory_order_relaxed)) return;
    detail::sync_waiter* next = nullptr;
    {
        std::lock_guard lock(guard_);
        next = waiters_.pop_front();
        if (next == nullptr) {
            // Only cancelled waiters had set the bit. release: as above.
            state_.store(0, std::memory_order_release);
            return;
        }
        // Hand-off: the mutex stays locked, now on the waiter's behalf; it sees
        // our critical section through the guard and the run queue it is pushed
        // to. relaxed: k_waiters changes only under guard_.
        if (waiters_.empty()) state_.store(k_locked, std::memory_order_relaxed);
        granted_ = next;
        next->slot_ = this;
    }
    next->outcome_ = detail::sync_waiter::outcome::granted;
    detail::wake(*next);
}

}  // namespace weft
