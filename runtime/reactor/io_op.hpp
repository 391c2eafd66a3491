// One I/O operation submitted to an io_uring ring, embedded in the awaiter of the
// task that waits for it. The epoll backend waits for readiness instead
// (epoll.hpp); timers are timer_entry (timer/wheel.hpp).
#pragma once

#include <weft/detail/cancel.hpp>

#include <sys/socket.h>

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace weft::detail {

class reactor;

enum class op_kind : std::uint8_t { recv, send, accept, connect, poll, openat, read, write };

// Cancellation handshake (INV-OP). A ring belongs to one worker (its owner): only
// the owner submits, reaps and resumes. A canceller on any thread flips state_
// pending -> cancel_requested and posts the op to the owner's inbox; the owner
// resumes the task only once it has both reaped the op's completion and drained
// that request, so the op (in a suspended frame) outlives the request. When the
// completion comes first, the owner flips pending -> done and resumes at once; a
// later cancel finds `done` and does nothing.
struct io_op : cancellable {
    static constexpr std::uint8_t k_pending = 0;
    static constexpr std::uint8_t k_cancel_requested = 1;
    static constexpr std::uint8_t k_done = 2;

    // What to do.
    op_kind kind_ = op_kind::recv;
    int fd_ = -1;
    void* buf_ = nullptr;
    unsigned len_ = 0;
    int flags_ = 0;             // send/recv flags, poll mask, open flags
    std::uint64_t offset_ = 0;  // file offset for read/write
    const char* path_ = nullptr;
    unsigned mode_ = 0;
    sockaddr* addr_ = nullptr;
    socklen_t addrlen_ = 0;

    // Set by the awaiter before submitting.
    std::coroutine_handle<> waiter_ = nullptr;
    reactor* owner_ = nullptr;

    // The kernel's result (>= 0, or -errno); owner thread only.
    std::int32_t result_ = 0;
    bool completed_ = false;    // owner only: the completion was reaped
    bool cancel_seen_ = false;  // owner only: the cancel request was drained
    // See INV-OP. Written by the owner and by one canceller.
    std::atomic<std::uint8_t> state_{k_pending};
};

}  // namespace weft::detail
