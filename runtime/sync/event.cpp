// weft::event and weft::wait_group: the primitives that wake all their waiters.
#include <weft/event.hpp>
#include <weft/wait_group.hpp>

#include <mutex>
#include <string>

namespace weft {

event::~event() {
    std::lock_guard lock(guard_);
    waiters_.forget_all();
}

void event::set() noexcept {
    if (is_set()) return;  // whoever set it drains the queue
    detail::sync_waiter* chain = nullptr;
    {
        // The exchange happens under the guard, so the unlock is set()'s last
        // touch of the event: a task that sees it set may end and destroy it at
        // once, and ~event takes the guard first, waiting for us to let go.
        std::lock_guard lock(guard_);
        // acq_rel: release publishes the setter's writes to is_set()'s acquire;
        // acquire orders this after an earlier reset().
        if (set_.exchange(true, std::memory_order_acq_rel)) return;
        chain = waiters_.take_all();
    }
    detail::wake_all(chain, detail::sync_waiter::outcome::granted);
}

wait_group::~wait_group() {
    std::lock_guard lock(guard_);
    waiters_.forget_all();
}

void wait_group::add(std::int64_t n) {
    std::unique_lock<detail::spin_lock> lock(guard_, std::defer_lock);
    std::int64_t c = count_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    for (;;) {
        if (n < 0 && c + n < 0)
            throw usage_error("weft::wait_group: add(" + std::to_string(n) + ") with a count of " +
                              std::to_string(c) + " would go below zero (more done() than add())");
        // The count reaches zero only under the guard, so the unlock is add()'s
        // last touch of the group: a task that sees zero may end and destroy it
        // at once, and ~wait_group takes the guard first, waiting for us.
        if (c + n == 0 && n != 0 && !lock.owns_lock()) lock.lock();
        // acq_rel: release publishes this caller's work to a waiter's acquire of
        // the count; acquire makes the caller that reaches zero see the others'.
        if (count_.compare_exchange_weak(c, c + n, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
    }
    if (c + n != 0 || n == 0) return;  // (unlocks if the count moved on meanwhile)
    detail::sync_waiter* chain = waiters_.take_all();
    lock.unlock();
    detail::wake_all(chain, detail::sync_waiter::outcome::granted);
}

}  // namespace weft
