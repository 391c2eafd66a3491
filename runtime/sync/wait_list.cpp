// The compiled half of detail/wait_list.hpp: resuming waiters on their runtime and
// taking a cancelled one out of its list.
#include "../scheduler/scheduler.hpp"

#include <weft/detail/wait_list.hpp>
#include <weft/detail/worker_context.hpp>

#include <string>
#include <utility>

namespace weft::detail {

worker_context& waiting_worker(const char* what) {
    worker_context* w = tls_worker;
    if (w == nullptr) throw usage_error(std::string(what) + " awaited outside a weft worker: await it from a weft task");
    return *w;
}

void wait_list::push_front(sync_waiter& w) noexcept {
    w.list_.store(this, std::memory_order_relaxed);  // relaxed: under the guard
    w.prev_waiter_ = nullptr;
    w.next_waiter_ = head_;
    if (head_ != nullptr)
        head_->prev_waiter_ = &w;
    else
        tail_ = &w;
    head_ = &w;
    if (std::exchange(w.held_, false)) w.sched_->release_hold();
}

bool hold_runtime(sync_waiter& w) noexcept {
    // By id: the scheduler may be gone (scheduler::hold_live).
    w.held_ = scheduler::hold_live(w.runtime_id_) != nullptr;
    return w.held_;
}

void wake(sync_waiter& w) noexcept {
    // Copied first: once submitted, the task may run and its frame go away.
    scheduler* s = w.sched_;
    const std::uint64_t id = w.runtime_id_;
    const std::coroutine_handle<> h = w.handle_;
    if (std::exchange(w.held_, false)) {  // cleared: an awaiter may wait again
        s->resume_held(h);
        return;
    }
    // Woken by a task of the same runtime: the waiter runs next on this worker
    // (its LIFO slot), where the data the waker just wrote is in cache, and no
    // sibling is woken unless that displaced another task. A mutex hand-off or a
    // channel exchange then costs no wake-up of a parked worker and no move to
    // another core (weft-sync-bench, 16 workers: see docs/benchmarks.md).
    // Outside threads and other runtimes go through the injector.
    worker_context* self = tls_worker;
    if (self != nullptr && self->runtime_id_ == id && !s->stopping()) {
        schedule_woken(*self, h);
        return;
    }
    // A canceller (cancel_waiter holds nothing), or a worker of a stopping
    // runtime.
    resume_task_of(id, h);
}

void wake_all(sync_waiter* chain, sync_waiter::outcome how) noexcept {
    // Waiters of this worker's runtime go through its LIFO slot, where each wake
    // pushes the one before onto the deque, whose owner pops the newest first:
    // woken in chain order they would run last-granted first. So they are woken
    // newest first, and the first granted runs first. Any other waiter goes
    // through the injector, a FIFO, in chain order. Nothing is woken before the
    // chain is taken apart: a woken waiter may run and its frame go away.
    worker_context* self = tls_worker;
    sync_waiter* local = nullptr;  // this runtime's waiters, newest first
    while (chain != nullptr) {
        sync_waiter* next = chain->next_waiter_;  // read before the waiter can run
        chain->outcome_ = how;
        if (self != nullptr && self->runtime_id_ == chain->runtime_id_) {
            chain->next_waiter_ = local;
            local = chain;
        } else {
            wake(*chain);
        }
        chain = next;
    }
    while (local != nullptr) {
        sync_waiter* next = local->next_waiter_;
        wake(*local);
        local = next;
    }
}

void cancel_waiter(cancellable& c) noexcept {
    auto& w = static_cast<sync_waiter&>(c);
    {
        std::lock_guard lock(*w.guard_);
        // relaxed: under the guard.
        wait_list* l = w.list_.load(std::memory_order_relaxed);
        if (l == nullptr) return;  // already granted or closed: that one resumes it
        l->unlink(w);
    }
    w.outcome_ = sync_waiter::outcome::cancelled;
    wake(w);
}

}  // namespace weft::detail
