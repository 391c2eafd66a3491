// Tasks suspended on a sync primitive (mutex, semaphore, event, wait_group,
// channel): the FIFO they wait in, and how a cancellation scope takes one out.
//
// Every primitive has one lock (its `guard`) over its waiter lists. A waiter is
// queued and unqueued only under that lock, and whoever unqueues it (a release, a
// set, a close, or its scope's cancellation) is the one that resumes it, after
// setting its outcome: so each waiter is resumed exactly once. Lock order: a
// cancellation scope's lock before a primitive's guard (cancel.hpp).
#pragma once

#include <weft/detail/cancel.hpp>
#include <weft/detail/export.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/worker_context.hpp>
#include <weft/errors.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>

namespace weft::detail {

class scheduler;
class wait_list;

// One suspended task; it lives in the awaiter, inside the task's frame.
struct sync_waiter : cancellable {
    enum class outcome : std::uint8_t { granted, cancelled, closed };

    std::coroutine_handle<> handle_ = nullptr;
    // The runtime that resumes it, and that runtime's id: a waker that is not
    // one of its workers reaches sched_ only through the id (hold_runtime), since
    // a join_handle may keep the task suspended past its runtime.
    scheduler* sched_ = nullptr;
    std::uint64_t runtime_id_ = 0;
    // The primitive's lock, from suspension to resumption; the primitive must
    // outlive every co_await on it (until that co_await returns).
    spin_lock* guard_ = nullptr;
    // The list it is queued in (null when not queued): changed under *guard_.
    // Atomic because abandon_wait() first reads it without the guard, while an
    // outside waker may be unqueueing it. Storing null is the waker's last touch
    // of a waiter it leaves to a stopping runtime (release: pairs with that
    // acquire read, after which the frame may be freed); other accesses are
    // ordered by the guard (relaxed).
    std::atomic<wait_list*> list_{nullptr};
    // Under *guard_: its links.
    sync_waiter* next_waiter_ = nullptr;
    sync_waiter* prev_waiter_ = nullptr;
    // Written by whoever unqueued it, before resuming it; read by the task after.
    outcome outcome_ = outcome::granted;
    // channel<T>: the value a waiting sender offers, or where a waiting receiver's
    // value goes. mutex: the mutex, from its hand-off to this waiter until the
    // task resumes (null again if the mutex is destroyed first).
    void* slot_ = nullptr;
    // Set under the guard when a waker that is not a worker of the waiter's
    // runtime unqueued it holding that runtime (hold_for_wake); wake() lets go.
    bool held_ = false;
};

// Out-of-line half of hold_for_wake().
WEFT_API bool hold_runtime(sync_waiter& w) noexcept;

// Under the guard, for a waiter just unqueued to be woken. A worker of its own
// runtime needs nothing: that runtime's shutdown joins it first. Any other waker
// (another thread, another runtime's worker) holds the runtime until wake() is
// done, since its destructor may be running already (block_on returned on
// another thread when this waker woke its root) and must not destroy the
// waiter's frame, or itself, under the waker. False once that runtime is
// stopping or gone: the waiter is left to its shutdown, or to the join_handle
// that outlived it, untouched once the guard is released.
inline bool hold_for_wake(sync_waiter& w) noexcept {
    worker_context* self = tls_worker;
    if (self != nullptr && self->runtime_id_ == w.runtime_id_) [[likely]]
        return true;
    return hold_runtime(w);
}

// An intrusive FIFO of waiters; every member function runs under the guard.
class wait_list {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    sync_waiter* front() const noexcept { return head_; }

    void push_back(sync_waiter& w) noexcept {
        w.list_.store(this, std::memory_order_relaxed);
        w.next_waiter_ = nullptr;
        w.prev_waiter_ = tail_;
        if (tail_ != nullptr)
            tail_->next_waiter_ = &w;
        else
            head_ = &w;
        tail_ = &w;
    }

    void unlink(sync_waiter& w) noexcept {
        if (w.prev_waiter_ != nullptr)
            w.prev_waiter_->next_waiter_ = w.next_waiter_;
        else
            head_ = w.next_waiter_;
        if (w.next_waiter_ != nullptr)
            w.next_waiter_->prev_waiter_ = w.prev_waiter_;
        else
            tail_ = w.prev_waiter_;
        w.next_waiter_ = w.prev_waiter_ = nullptr;
        // release, last: see list_.
        w.list_.store(nullptr, std::memory_order_release);
    }

    // Puts back a waiter pop_front() gave, which then could not take its hand-off
    // (a value's move threw), and lets go of its runtime.
    WEFT_API void push_front(sync_waiter& w) noexcept;

    // Unqueues the first waiter to wake (hold_for_wake), skipping those whose
    // runtime is shutting down; null when none is left.
    sync_waiter* pop_front() noexcept {
        while (sync_waiter* w = head_) {
            // Held (or not) while still queued: unqueued and not held, it may be
            // freed at once by its runtime's shutdown (abandon_wait).
            const bool held = hold_for_wake(*w);
            unlink(*w);
            if (held) return w;
        }
        return nullptr;
    }

    // Unqueues everyone, for waking: a chain linked through next_waiter_
    // (wake_all), without those whose runtime is shutting down (hold_for_wake).
    sync_waiter* take_all() noexcept {
        sync_waiter* chain = nullptr;
        sync_waiter** link = &chain;
        for (sync_waiter* w = head_; w != nullptr;) {
            sync_waiter* next = w->next_waiter_;
            // As in pop_front(): decided before the waiter is unqueued, and the
            // store of null the last touch of one not held (release: see list_).
            if (hold_for_wake(*w)) {
                *link = w;
                link = &w->next_waiter_;
            }
            w->list_.store(nullptr, std::memory_order_release);
            w = next;
        }
        *link = nullptr;
        head_ = tail_ = nullptr;
        return chain;
    }

    // The primitive is being destroyed with tasks still queued (a runtime's
    // shutdown destroys frames in any order): forget them, so that their
    // awaiters' destructors (abandon_wait) do not touch the dead lock.
    void forget_all() noexcept {
        for (sync_waiter* w = head_; w != nullptr;) {
            sync_waiter* next = w->next_waiter_;
            w->list_.store(nullptr, std::memory_order_release);  // release: see list_
            w = next;
        }
        head_ = tail_ = nullptr;
    }

private:
    sync_waiter* head_ = nullptr;
    sync_waiter* tail_ = nullptr;
};

// The calling worker; usage_error naming `what` off a worker.
WEFT_API worker_context& waiting_worker(const char* what);
// Resumes an unqueued waiter on its runtime (this worker's deque when the caller
// is one of its workers). The waiter may run, and its frame go away, at once.
WEFT_API void wake(sync_waiter& w) noexcept;
// wake() for a take_all() chain, each with `how` as its outcome.
WEFT_API void wake_all(sync_waiter* chain, sync_waiter::outcome how) noexcept;
// cancellable::cancel_ of every sync waiter: unqueues it if still queued and
// resumes it with outcome cancelled.
WEFT_API void cancel_waiter(cancellable& c) noexcept;

// Suspends the task `h` in `list` unless `try_now()`, called under `guard`, says
// the operation completed without waiting. True when it suspended; otherwise
// w.outcome_ is granted (done) or cancelled (the task's scope was cancelled).
template <class Promise, class TryNow>
bool suspend_waiter(sync_waiter& w, std::coroutine_handle<Promise> h, spin_lock& guard, wait_list& list,
                    const char* what, TryNow&& try_now) {
    const worker_context& self = waiting_worker(what);
    w.sched_ = self.scheduler_;
    w.runtime_id_ = self.runtime_id_;
    w.handle_ = h;
    w.guard_ = &guard;
    w.cancel_ = &cancel_waiter;
    cancel_scope* scope = scope_of(h);
    // Registered before queueing, so a canceller that finds it queued can take it
    // out; one that comes before the queueing is seen by the cancelled() re-check
    // under the guard (cancel() sets the flag before it takes our guard).
    if (scope != nullptr && !scope->add(w)) {
        w.outcome_ = sync_waiter::outcome::cancelled;
        return false;
    }
    bool queued = false;
    {
        std::lock_guard lock(guard);
        if (try_now()) {
            w.outcome_ = sync_waiter::outcome::granted;
        } else if (scope != nullptr && scope->cancelled()) {
            w.outcome_ = sync_waiter::outcome::cancelled;
        } else {
            list.push_back(w);
            queued = true;
        }
    }
    if (!queued) cancel_scope::remove(w);
    return queued;
}

// In await_resume: the waiter left its list; leave the scope too. True when it
// was granted; throws weft::cancelled when it was cancelled; false when closed.
inline bool finish_wait(sync_waiter& w) {
    cancel_scope::remove(w);
    if (w.outcome_ == sync_waiter::outcome::cancelled) throw cancelled{};
    return w.outcome_ == sync_waiter::outcome::granted;
}

// In an awaiter's destructor: a frame destroyed while it waits leaves the list
// and the scope. Only a runtime's shutdown destroys a suspended frame, after its
// workers stopped. A destroyed primitive cleared list_ with forget_all(), so it
// is read first without the guard (which may be gone); then again under the
// guard, since an outside waker may have unqueued it meanwhile (it skips the
// waiters of a stopping runtime and leaves them to us: hold_for_wake).
inline void abandon_wait(sync_waiter& w) noexcept {
    // acquire: pairs with the release store of null (list_); the waker that
    // unqueued us is then done with this frame, unless it holds our runtime,
    // whose shutdown (which destroys us) waited for it.
    if (w.list_.load(std::memory_order_acquire) != nullptr) {
        std::lock_guard lock(*w.guard_);
        if (wait_list* l = w.list_.load(std::memory_order_relaxed)) l->unlink(w);
    }
    cancel_scope::remove(w);
}

// The base of every sync primitive's awaiter: the waiter it suspends with, left
// cleanly if the frame is destroyed while it waits.
class waiting_awaiter {
public:
    waiting_awaiter() noexcept = default;
    // Moving is for before the await, when the waiter is in no list and no scope
    // (so that timeout(d, ch.recv()) can move the awaiter into the task that
    // awaits it): the new awaiter starts with a fresh waiter. An awaiter cannot be
    // reached while its task is suspended on it, and after its await returns its
    // waiter is out of every list and scope again.
    waiting_awaiter(waiting_awaiter&&) noexcept {}
    waiting_awaiter(const waiting_awaiter&) = delete;
    waiting_awaiter& operator=(const waiting_awaiter&) = delete;
    ~waiting_awaiter() { abandon_wait(waiter_); }

protected:
    // In await_resume: true when the operation happened (without waiting, or
    // granted after a wait), false when the primitive was closed; throws
    // weft::cancelled when the wait was cancelled.
    bool finish() { return !waiter_.handle_ || finish_wait(waiter_); }

    sync_waiter waiter_;
};

}  // namespace weft::detail
