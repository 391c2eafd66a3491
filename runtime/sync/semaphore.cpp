// weft::semaphore's slow paths: queueing for a permit, and handing released
// permits to waiting tasks in FIFO order.
#include <weft/semaphore.hpp>

#include <string>

namespace weft {

namespace {

std::uint64_t checked_permits(std::size_t n, const char* what) {
    if (n > semaphore::max_permits)
        throw usage_error(std::string(what) + ": " + std::to_string(n) + " permits is more than semaphore::max_permits");
    return static_cast<std::uint64_t>(n);
}

}  // namespace

semaphore::semaphore(std::size_t permits) : state_(checked_permits(permits, "weft::semaphore") * k_one) {}

semaphore::~semaphore() {
    std::lock_guard lock(guard_);
    waiters_.forget_all();
}

bool semaphore::acquire_or_announce_waiter() noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    for (;;) {
        if (s & k_waiters) return false;  // INV-SEM: none free; queue behind the others
        if (s >= k_one) {
            // acquire: as in try_acquire().
            if (state_.compare_exchange_weak(s, s - k_one, std::memory_order_acquire, std::memory_order_relaxed))
                return true;
        } else if (state_.compare_exchange_weak(s, k_waiters, std::memory_order_relaxed)) {
            // relaxed: the bit diverts release() to its slow path, which takes
            // guard_ (held by us) and so finds our queued waiter.
            return false;
        }
    }
}

void semaphore::release(std::size_t k) {
    if (k == 0) return;
    const std::uint64_t add = checked_permits(k, "weft::semaphore::release");
    std::uint64_t s = state_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    while (!(s & k_waiters)) {
        if ((s >> 1) + add > max_permits)
            throw usage_error("weft::semaphore::release: the permit count would pass semaphore::max_permits");
        // release: publishes what we did to the acquirer's acquire CAS.
        if (state_.compare_exchange_weak(s, s + add * k_one, std::memory_order_release, std::memory_order_relaxed))
            return;
    }
    detail::sync_waiter* chain = nullptr;
    detail::sync_waiter* last = nullptr;
    {
        std::lock_guard lock(guard_);
        std::uint64_t left = add;
        while (left != 0) {
            detail::sync_waiter* w = waiters_.pop_front();
            if (w == nullptr) break;
            w->next_waiter_ = nullptr;
            (last != nullptr ? last->next_waiter_ : chain) = w;
            last = w;
            --left;
        }
        // The permits no waiter took, and k_waiters only while some remain queued.
        // release: publishes what we did to later acquirers; waiters we hand a
        // permit see it through the guard and the run queue.
        s = state_.load(std::memory_order_relaxed);
        for (;;) {
            const std::uint64_t free_now = (s & k_waiters) ? 0 : (s >> 1);
            const std::uint64_t next = (free_now + left) * k_one | (waiters_.empty() ? 0 : k_waiters);
            if (state_.compare_exchange_weak(s, next, std::memory_order_release, std::memory_order_relaxed)) break;
        }
    }
    detail::wake_all(chain, detail::sync_waiter::outcome::granted);
}

}  // namespace weft
