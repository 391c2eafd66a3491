// weft::event and weft::wait_group: the primitives that wake all their waiters.
#include <weft/event.hpp>
#include <weft/wait_group.hpp>

#include <string>

namespace weft {

event::~event() {
    std::lock_guard lock(guard_);
    waiters_.forget_all();
}

void event::set() noexcept {
    // acq_rel: release publishes the setter's writes to is_set()'s acquire;
    // acquire orders this after an earlier reset().
    if (set_.exchange(true, std::memory_order_acq_rel)) return;  // whoever set it drains
    detail::sync_waiter* chain = nullptr;
    {
        std::lock_guard lock(guard_);
        chain = waiters_.take_all();
    }
    detail::wake_all(chain, detail::sync_waiter::outcome::granted);
}

wait_group::~wait_group() {
    std::lock_guard lock(guard_);
    waiters_.forget_all();
}

void wait_group::add(std::int64_t n) {
    std::int64_t c = count_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    for (;;) {
        if (n < 0 && c + n < 0)
            throw usage_error("weft::wait_group: add(" + std::to_string(n) + ") with a count of " +
                              std::to_string(c) + " would go below zero (more done() than add())");
        // acq_rel: release publishes this caller's work to a waiter's acquire of
        // the count; acquire makes the caller that reaches zero see the others'.
        if (count_.compare_exchange_weak(c, c + n, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
    }
    if (c + n != 0 || n == 0) return;
    detail::sync_waiter* chain = nullptr;
    {
        std::lock_guard lock(guard_);
        chain = waiters_.take_all();
    }
    detail::wake_all(chain, detail::sync_waiter::outcome::granted);
}

}  // namespace weft
