// A worker's reactor: where the worker waits when it has nothing to run, bounded by
// its next timer, and where its timers and I/O completions wake tasks. One per
// worker, so submitting needs no lock. The backends (uring.cpp, epoll.cpp) supply
// the kernel side; this base holds what both share: the timing wheel, the inbox
// of cancel requests from other threads, and the sleep/wake protocol.
#pragma once

#include "../timer/wheel.hpp"
#include "io_op.hpp"

#include <weft/config.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace weft::detail {

enum class io_backend_kind { io_uring, epoll };

// Whether valgrind runs this process: its preload library is in LD_PRELOAD.
bool running_under_valgrind() noexcept;

class reactor {
public:
    // Resolves config::io_backend: "auto" tries io_uring and falls back to epoll,
    // saying so once on stderr; "io_uring" throws io_error when the kernel refuses.
    // Under valgrind (running_under_valgrind), "auto" takes epoll (with a note) and
    // "io_uring" throws config_error.
    static io_backend_kind choose(const config& cfg);
    static std::unique_ptr<reactor> create(io_backend_kind kind, const config& cfg, std::uint64_t runtime_id);

    virtual ~reactor();

    io_backend_kind kind() const noexcept { return kind_; }
    timer_wheel& timers() noexcept { return wheel_; }

    // Owner thread, once, before anything else.
    virtual void attach_to_thread() {}

    // Owner: anything that a poll could complete (timers, operations in flight,
    // readiness waiters, cancel requests)? Cheap; the busy loop asks it often.
    bool has_pending() const noexcept;
    // Owner: drains cancel requests, fires due timers and dispatches completions
    // that are ready, without blocking.
    void poll_now();
    // Owner, while parked: blocks until `parked_word` reads 0 (someone unparked
    // the worker), a completion or a timer made a task runnable, or a cancel
    // request came in; or, with `max_wait_ns` >= 0, once that long has passed.
    // May return spuriously.
    void park(const std::atomic<std::uint32_t>& parked_word, std::int64_t max_wait_ns = -1);
    // Any thread: interrupts park(), or makes the next one return at once.
    void wake() noexcept;

    // Any thread (INV-OP in io_op.hpp): the owner will cancel `op`.
    void post_cancel(io_op& op);
    // Owner: takes back a request post_cancel() queued for `op`, for an op whose
    // submission failed (it will never complete, and its frame unwinds).
    void withdraw_cancel(io_op& op) noexcept;

    // Owner, when the worker stops: cancel what is in flight and reap it, without
    // resuming anything (shutdown destroys the suspended frames).
    void shutdown();
    bool closing() const noexcept { return closing_; }

    // Owner: the op's completion was reaped (or a cancel finished it); resumes
    // its task unless a cancel request for it is still on its way (INV-OP).
    void complete(io_op& op, std::int32_t result) noexcept;

    // io_uring only: submits `op` on this (the calling worker's) ring.
    virtual void start(io_op& op);

protected:
    reactor(io_backend_kind kind, const config& cfg);

    // Waits up to timeout_ns (-1: no limit; 0: do not block) and dispatches.
    virtual void poll_backend(std::int64_t timeout_ns) = 0;
    // Makes a poll_backend() in progress return.
    virtual void notify() noexcept = 0;
    virtual bool backend_pending() const noexcept = 0;
    // io_uring: asks the kernel to cancel an op it has not completed.
    virtual void cancel_in_kernel(io_op& op);
    virtual void shutdown_backend() = 0;

    // Resumes a task on this worker, next (detail::schedule_woken); during
    // shutdown, leaves it suspended for its owner to destroy.
    void resume(std::coroutine_handle<> h) noexcept;

    const unsigned event_batch_;

private:
    // Each returns whether it did anything (a request handled, a timer fired),
    // which may have made a task runnable.
    bool drain_inbox();
    bool fire_timers();

    const io_backend_kind kind_;
    timer_wheel wheel_;
    bool closing_ = false;

    // True while the owner is in (or about to enter) a blocking poll. Set by the
    // owner (seq_cst), cleared by the first waker to see it (seq_cst exchange):
    // either the owner's re-check after setting it sees the waker's news, or the
    // waker sees the flag and notifies (INV-WAKE, reactor.cpp).
    std::atomic<bool> sleeping_{false};

    // Cancel requests from other threads (INV-OP). inbox_size_ lets the owner
    // skip the lock when it is empty.
    std::mutex inbox_mutex_;
    std::vector<io_op*> inbox_;
    std::atomic<std::size_t> inbox_size_{0};
};

// The reactor of the worker running on this thread; throws usage_error off a
// worker (e.g. a task resumed by hand on another thread).
reactor& current_reactor(const char* what);

}  // namespace weft::detail
