// The leaf awaiters that runtime/net and runtime/fs suspend on: one io_uring
// operation (ring_wait), one readiness wait on epoll (ready_wait), and a call run
// on the blocking pool (blocking_call). Each registers in its task's cancellation
// scope where it can be cancelled.
#pragma once

#include "../scheduler/scheduler.hpp"
#include "epoll.hpp"
#include "reactor.hpp"

#include <weft/errors.hpp>

#include <cerrno>
#include <coroutine>
#include <exception>
#include <utility>

#include <unistd.h>

namespace weft::detail {

// co_await ring_wait(op) submits `op` on the calling worker's ring and gives its
// result (>= 0 or -errno); throws weft::cancelled when cancelled before the kernel
// finished it.
class ring_wait {
public:
    explicit ring_wait(io_op& op) noexcept : op_(op) {}
    ring_wait(const ring_wait&) = delete;
    ring_wait& operator=(const ring_wait&) = delete;
    // A frame destroyed while suspended (shutdown): the worker reaped the op
    // already; only the scope may still list it. An accept or open that finished
    // before the shutdown (reaped then, or by the shutdown's own reap) made a
    // descriptor that only the result names, and nobody will take it: close it.
    // (completed_ was written by the owner worker, joined by now.)
    ~ring_wait() {
        cancel_scope::remove(op_);
        if (!resumed_ && op_.completed_ && op_.result_ >= 0 &&
            (op_.kind_ == op_kind::accept || op_.kind_ == op_kind::openat))
            ::close(op_.result_);
    }

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        reactor& r = current_reactor("weft I/O");
        cancel_scope* scope = scope_of(h);
        op_.waiter_ = h;
        op_.owner_ = &r;
        op_.cancel_ = &on_cancel;
        if (scope != nullptr && (scope->cancelled() || !scope->add(op_))) {
            op_.result_ = -ECANCELED;
            cancelled_ = true;
            return false;
        }
        try {
            r.start(op_);
        } catch (...) {
            // Not submitted (the ring's queue was full). remove() waits for a
            // canceller inside on_cancel now; one that already posted a request
            // for the op has it taken back: the inbox must not keep a pointer
            // into this frame, which the exception unwinds.
            cancel_scope::remove(op_);
            // acquire: pairs with the canceller's CAS.
            if (op_.state_.load(std::memory_order_acquire) == io_op::k_cancel_requested) r.withdraw_cancel(op_);
            throw;
        }
        return true;
    }

    int await_resume() {
        resumed_ = true;
        cancel_scope::remove(op_);
        // acquire: pairs with the canceller's CAS; see INV-OP in io_op.hpp.
        if (cancelled_ || (cut_short(op_.result_) &&
                           op_.state_.load(std::memory_order_acquire) == io_op::k_cancel_requested))
            throw cancelled{};
        return op_.result_;
    }

private:
    // What an operation our cancel stopped completes with: -ECANCELED, or, for
    // one the kernel ran in a worker thread and interrupted there (a FIFO's
    // openat), -EINTR or the kernel's restart codes (ERESTARTSYS and its kin,
    // 512..516), which some kernels let through.
    static bool cut_short(int result) noexcept {
        return result == -ECANCELED || result == -EINTR || (result <= -512 && result >= -516);
    }

    // Any thread, under the scope's lock (INV-OP).
    static void on_cancel(cancellable& c) noexcept {
        auto& op = static_cast<io_op&>(c);
        std::uint8_t expected = io_op::k_pending;
        // acq_rel: release publishes nothing but pairs with the owner's CAS, so
        // exactly one of "done" and "cancel requested" wins.
        if (op.state_.compare_exchange_strong(expected, io_op::k_cancel_requested, std::memory_order_acq_rel)) {
            try {
                op.owner_->post_cancel(op);
            } catch (...) {
                std::fputs("weft: out of memory posting a cancel request\n", stderr);
                std::abort();  // the op could never be resumed
            }
        }
    }

    io_op& op_;
    bool cancelled_ = false;
    bool resumed_ = false;  // the task took the result
};

// co_await ready_wait(...) parks the task until the socket is ready in one
// direction, unless an event came since `seq` was read. Gives 0 (try the call
// again) or -EBADF (the socket was closed); throws weft::cancelled. `several`:
// other tasks may wait beside it (accepts on a listener); otherwise a second
// waiter in the same direction is a usage_error.
class ready_wait : public readiness_waiter {
public:
    ready_wait(fd_waiters& w, int direction, std::uint32_t seq, bool several = false) noexcept : seq_(seq) {
        fd_ = &w;
        direction_ = direction;
        several_ = several;
    }
    ready_wait(const ready_wait&) = delete;
    ready_wait& operator=(const ready_wait&) = delete;
    ~ready_wait() {
        // A frame destroyed while parked (shutdown, or a join_handle dropped
        // after its runtime). acquire: see readiness_waiter::parked_.
        if (parked_.load(std::memory_order_acquire)) unpark_waiter(*this);
        cancel_scope::remove(*this);
    }

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        cancel_scope* scope = scope_of(h);
        waiter_ = h;
        runtime_id_ = tls_worker->runtime_id_;
        cancel_ = &on_cancel;
        if (scope != nullptr && (scope->cancelled() || !scope->add(*this))) {
            result_ = -ECANCELED;
            return false;
        }
        bool parked = false;
        try {
            parked = park_waiter(*this, seq_);
        } catch (...) {
            cancel_scope::remove(*this);
            throw;
        }
        // Not parked: remove() races only with on_cancel, which then finds us
        // unparked under the fd's lock and does nothing.
        if (!parked) cancel_scope::remove(*this);
        return parked;
    }

    int await_resume() {
        cancel_scope::remove(*this);
        if (result_ == -ECANCELED) throw cancelled{};
        return result_;
    }

private:
    static void on_cancel(cancellable& c) noexcept {
        auto& self = static_cast<ready_wait&>(c);
        if (!cancel_readiness_waiter(self)) return;  // an event or a close resumes it, or it never parks
        self.result_ = -ECANCELED;
        resume_task_of(self.runtime_id_, self.waiter_);
    }

    const std::uint32_t seq_;
};

// co_await blocking_call(f, describe) runs f() on the runtime's blocking pool and
// resumes the task on any worker; rethrows what f threw. Cancelled while queued,
// f never runs; while f runs, a call f makes inside a cancel_point (one that may
// block for good) is cut short; either way the task gets weft::cancelled.
// Otherwise f finishes and the task sees the cancellation at its next await. At
// shutdown, such a call is cut short too (blocking_pool::stop) and the task is
// never resumed: its owner destroys it. When the pool has no thread and cannot
// start one, f never runs and the task gets an io_error whose message starts
// with describe() (the call and its path, as f's own errors name them).
template <class F, class Describe>
class blocking_call : public blocking_pool::job, public cancellable {
public:
    blocking_call(F f, Describe describe) : f_(std::move(f)), describe_(std::move(describe)) {}
    blocking_call(const blocking_call&) = delete;
    blocking_call& operator=(const blocking_call&) = delete;
    // A frame destroyed while suspended (shutdown: the pool has stopped, so no
    // thread runs the job any more); only the scope may still list us.
    ~blocking_call() { cancel_scope::remove(*this); }

    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        worker_context* w = tls_worker;
        if (w == nullptr) throw usage_error("weft file I/O called outside a weft worker: await it from a weft task");
        waiter_ = h;
        sched_ = w->scheduler_;
        runtime_id_ = w->runtime_id_;
        run_ = &run;
        done_ = &done;
        cancel_ = &on_cancel;
        cancel_scope* scope = scope_of(h);
        if (scope != nullptr && (scope->cancelled() || !scope->add(*this))) {
            cancelled_ = true;
            return false;
        }
        bool queued;
        try {
            queued = sched_->blocking().submit(*this);
        } catch (...) {  // out of memory; nothing was queued
            cancel_scope::remove(*this);
            throw;
        }
        // Queued: a canceller or a pool thread may resume us already. Not
        // queued: cancelled between add() and submit(), or no thread; resume now.
        return queued;
    }
    void await_resume() {
        // remove() waits for a canceller inside on_cancel now. cancelled_ and
        // no_thread_ were written under the pool's mutex before whoever resumed
        // us did.
        cancel_scope::remove(*this);
        if (cancelled_) throw cancelled{};
        if (no_thread_ != 0)
            throw io_error(no_thread_, describe_() + ": weft's blocking-I/O pool has no thread and could not start one");
        if (error_) std::rethrow_exception(error_);
    }

private:
    static void run(job& j) {
        auto& self = static_cast<blocking_call&>(j);
        try {
            self.f_();
        } catch (...) {
            if (cancel_point::unwinding()) throw;  // cut short (stop or cancel): let it unwind
            self.error_ = std::current_exception();
        }
    }
    // The pool thread touches nothing after this: the task may free us.
    static void done(job& j) noexcept {
        auto& self = static_cast<blocking_call&>(j);
        self.sched_->resume_anywhere(self.waiter_);
    }
    // Any thread, under the scope's lock. A job still queued never runs: we
    // resume its task; a running one is cut short if it is in (or reaches) a
    // call that may block for good, and its thread resumes the task.
    static void on_cancel(cancellable& c) noexcept {
        auto& self = static_cast<blocking_call&>(c);
        if (self.sched_->blocking().cancel(self)) resume_task_of(self.runtime_id_, self.waiter_);
    }

    F f_;
    Describe describe_;
    std::coroutine_handle<> waiter_ = nullptr;
    scheduler* sched_ = nullptr;
    std::uint64_t runtime_id_ = 0;
    std::exception_ptr error_;
};

}  // namespace weft::detail
