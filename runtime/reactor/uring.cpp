// The io_uring backend. user_data encoding: 0 for completions we ignore (cancel
// requests), k_wake_tag for the eventfd read that wakes a parked worker, anything
// else is the io_op* the completion belongs to.
#include "uring.hpp"

#include <weft/errors.hpp>

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace weft::detail {

namespace {

constexpr std::uint64_t k_ignore_tag = 0;
constexpr std::uint64_t k_wake_tag = 1;

}  // namespace

int uring_reactor::probe() noexcept {
    io_uring ring;
    const int r = io_uring_queue_init(8, &ring, 0);
    if (r < 0) return -r;
    io_uring_queue_exit(&ring);
    return 0;
}

uring_reactor::uring_reactor(const config& cfg) : reactor(io_backend_kind::io_uring, cfg) {
    // Newest first; older kernels reject flags they do not know with EINVAL.
    const unsigned candidates[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int r = -EINVAL;
    for (unsigned flags : candidates) {
        io_uring_params p{};
        p.flags = flags | IORING_SETUP_CQSIZE;
        p.cq_entries = 2 * cfg.io_ring_entries;
        r = io_uring_queue_init_params(cfg.io_ring_entries, &ring_, &p);
        if (r == 0) {
            setup_flags_ = flags;
            break;
        }
        if (r != -EINVAL) break;
    }
    if (r < 0) throw io_error(-r, "io_uring_queue_init(" + std::to_string(cfg.io_ring_entries) + " entries)");
    wake_fd_ = eventfd(0, EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        const int err = errno;
        io_uring_queue_exit(&ring_);
        throw io_error(err, "eventfd (io_uring reactor)");
    }
}

uring_reactor::~uring_reactor() {
    io_uring_queue_exit(&ring_);
    ::close(wake_fd_);
}

void uring_reactor::attach_to_thread() {
    // R_DISABLED rings get their single issuer when enabled: this worker's thread.
    if (setup_flags_ & IORING_SETUP_R_DISABLED) {
        // liburing 2.3 declares io_uring_enable_rings but does not export it.
        if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) < 0)
            throw io_error(errno, "io_uring_register(ENABLE_RINGS)");
    }
    // Every io_uring_enter names the ring by a registered index instead of its fd,
    // which spares the kernel an fd-table lookup and reference per call. The index
    // belongs to this thread, the ring's only issuer. A kernel without it (before
    // 5.18) just keeps using the fd.
    if (io_uring_register_ring_fd(&ring_) == 1) ring_fd_registered_ = true;
    arm_wake_read();
}

io_uring_sqe* uring_reactor::next_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        // The submission queue is full: hand it to the kernel and take a fresh slot.
        io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
        if (sqe == nullptr) throw io_error(EBUSY, "io_uring_get_sqe: submission queue full");
    }
    return sqe;
}

void uring_reactor::arm_wake_read() {
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_read(sqe, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
    io_uring_sqe_set_data64(sqe, k_wake_tag);
    wake_armed_ = true;
}

void uring_reactor::start(io_op& op) {
    io_uring_sqe* sqe = next_sqe();
    switch (op.kind_) {
    case op_kind::recv: io_uring_prep_recv(sqe, op.fd_, op.buf_, op.len_, op.flags_); break;
    case op_kind::send: io_uring_prep_send(sqe, op.fd_, op.buf_, op.len_, op.flags_); break;
    case op_kind::accept:
        io_uring_prep_accept(sqe, op.fd_, nullptr, nullptr, op.flags_);
        break;
    case op_kind::connect: io_uring_prep_connect(sqe, op.fd_, op.addr_, op.addrlen_); break;
    case op_kind::poll: io_uring_prep_poll_add(sqe, op.fd_, static_cast<unsigned>(op.flags_)); break;
    case op_kind::openat:
        io_uring_prep_openat(sqe, AT_FDCWD, op.path_, op.flags_, op.mode_);
        break;
    case op_kind::read: io_uring_prep_read(sqe, op.fd_, op.buf_, op.len_, op.offset_); break;
    case op_kind::write: io_uring_prep_write(sqe, op.fd_, op.buf_, op.len_, op.offset_); break;
    }
    io_uring_sqe_set_data(sqe, &op);
    ++in_flight_;
}

void uring_reactor::cancel_in_kernel(io_op& op) {
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_cancel(sqe, &op, 0);
    io_uring_sqe_set_data64(sqe, k_ignore_tag);
}

std::size_t uring_reactor::reap() {
    std::size_t seen = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        const std::uint64_t tag = cqe->user_data;
        if (tag == k_wake_tag) {
            wake_armed_ = false;
        } else if (tag != k_ignore_tag) {
            --in_flight_;
            complete(*reinterpret_cast<io_op*>(static_cast<std::uintptr_t>(tag)), cqe->res);
        }
        if (++seen == event_batch_) break;
    }
    io_uring_cq_advance(&ring_, static_cast<unsigned>(seen));
    return seen;
}

void uring_reactor::poll_backend(std::int64_t timeout_ns) {
    if (!wake_armed_ && !closing()) arm_wake_read();
    if (timeout_ns == 0) {
        if (setup_flags_ & IORING_SETUP_DEFER_TASKRUN)
            // Deferred completions (a socket's poll that fired, a cancelled
            // operation) are posted only on request, so every poll asks, also
            // when it submits: a plain submit does not, and a worker that always
            // had something to submit never saw them (a cancelled FIFO read
            // beside a loop of file reads hung for good). One system call, as
            // before.
            io_uring_submit_and_get_events(&ring_);
        else if (io_uring_sq_ready(&ring_) != 0)
            io_uring_submit(&ring_);
    } else {
        __kernel_timespec ts{};
        __kernel_timespec* tsp = nullptr;
        if (timeout_ns > 0) {
            ts.tv_sec = timeout_ns / 1'000'000'000;
            ts.tv_nsec = timeout_ns % 1'000'000'000;
            tsp = &ts;
        }
        io_uring_cqe* cqe = nullptr;
        // -ETIME (timeout) and -EINTR are ordinary ways to return.
        io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, tsp, nullptr);
    }
    while (reap() == event_batch_) {
    }
}

void uring_reactor::notify() noexcept {
    // A failed write leaves the counter as it was: the read is already pending.
    [[maybe_unused]] const ssize_t n = ::eventfd_write(wake_fd_, 1);
}

void uring_reactor::shutdown_backend() {
    if (in_flight_ != 0 || wake_armed_) {
        io_uring_sqe* sqe = next_sqe();
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, k_ignore_tag);
        while (in_flight_ != 0 || wake_armed_) {
            io_uring_cqe* cqe = nullptr;
            io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
            reap();
        }
    }
    // The registered index lives in this thread's table; drop it here, not in the
    // destructor, which may run on another thread.
    if (ring_fd_registered_) {
        io_uring_unregister_ring_fd(&ring_);
        ring_fd_registered_ = false;
    }
}

}  // namespace weft::detail
