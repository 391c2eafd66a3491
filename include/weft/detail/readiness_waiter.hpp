// A task waiting on the epoll backend for one direction of a socket to become
// ready. Public (in detail/) only because tcp_stream::read()'s awaitable embeds one,
// so that a read needs no coroutine frame; the epoll reactor (runtime/reactor/
// epoll.hpp) parks, wakes and cancels it.
#pragma once

#include <weft/detail/cancel.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace weft::detail {

struct fd_waiters;

struct readiness_waiter : cancellable {
    std::coroutine_handle<> waiter_ = nullptr;
    // Its runtime, for resume_task_of(): a closer or canceller on another thread
    // may come after that runtime is gone (a join_handle kept the task).
    std::uint64_t runtime_id_ = 0;
    fd_waiters* fd_ = nullptr;
    int direction_ = 0;  // 0 read, 1 write
    // 0: ready (retry the call, or recv_ below holds the answer); -ECANCELED;
    // -EBADF (the socket was closed); -errno of recv_ below.
    int result_ = 0;
    // In fd_->waiter_'s list. Changed under fd_->mutex_; whoever unparks the waiter
    // stores false (release) after its other writes to it. The task's frame
    // destructor reads it without the lock (acquire): false means the waiter is
    // out of fd_waiters, and a closer that unparked it without holding its
    // runtime touches it no more (close_waiters), so the frame may go. (The
    // home worker's dispatch() still reads next_ and waiter_ after its store:
    // while that live runtime's workers run, none of its frames is destroyed
    // suspended.)
    std::atomic<bool> parked_{false};
    // Under fd_->mutex_: a canceller came after the task registered in its scope
    // and before it parked; park_waiter() then does not park it.
    bool cancel_before_park_ = false;
    // A reader that asks the home worker to make its recv: when the socket
    // becomes readable, dispatch() calls recv(recv_buf_, recv_len_) under the
    // fd's lock and wakes the task only if it did not say EAGAIN, with the byte
    // count in received_ (or the error in result_). Null: wake on readiness.
    std::byte* recv_buf_ = nullptr;
    std::size_t recv_len_ = 0;
    ssize_t received_ = 0;
    // Several tasks may wait in this direction at once if all of them say so:
    // accepts on a listener. (A stream allows one read and one write at a time.)
    bool several_ = false;
    // Links in fd_->waiter_[direction_]'s list, under fd_->mutex_ (the head's
    // prev_ is the tail). Once unparked by a waker, next_ chains the waiters it
    // resumes after unlocking.
    readiness_waiter* next_ = nullptr;
    readiness_waiter* prev_ = nullptr;
};

}  // namespace weft::detail
