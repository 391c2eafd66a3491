// The io_uring backend: one ring per worker, used only by that worker's thread
// (IORING_SETUP_SINGLE_ISSUER, with completions run when the worker asks for them:
// DEFER_TASKRUN). Other threads wake it through an eventfd the ring keeps a read
// pending on.
#pragma once

#include "reactor.hpp"

#include <liburing.h>

namespace weft::detail {

class uring_reactor final : public reactor {
public:
    explicit uring_reactor(const config& cfg);
    ~uring_reactor() override;

    // 0 when this process may create rings, else the errno that refused it.
    static int probe() noexcept;

    void attach_to_thread() override;
    void start(io_op& op) override;

protected:
    void poll_backend(std::int64_t timeout_ns) override;
    void notify() noexcept override;
    bool backend_pending() const noexcept override { return in_flight_ != 0; }
    void cancel_in_kernel(io_op& op) override;
    void shutdown_backend() override;

private:
    io_uring_sqe* next_sqe();
    void arm_wake_read();
    std::size_t reap();

    io_uring ring_{};
    unsigned setup_flags_ = 0;
    int wake_fd_ = -1;
    std::uint64_t wake_buf_ = 0;
    bool wake_armed_ = false;
    bool ring_fd_registered_ = false;
    // Owner only: submitted ops whose completion has not been reaped.
    std::size_t in_flight_ = 0;
};

}  // namespace weft::detail
