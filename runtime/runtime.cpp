// weft::runtime: the public face of the scheduler (runtime/scheduler/).
#include <weft/runtime.hpp>

#include "scheduler/scheduler.hpp"

#include <cstdio>
#include <cstdlib>

namespace weft {

runtime::runtime(const config& cfg) {
    cfg.validate();
    scheduler_ = std::make_unique<detail::scheduler>(cfg);
}

runtime::~runtime() {
    // A worker cannot join itself. A destructor cannot throw, and returning would
    // leave this worker running on a freed scheduler, so say what happened and stop.
    if (detail::tls_worker != nullptr && detail::tls_worker->scheduler_ == scheduler_.get()) {
        std::fputs("weft: a runtime was destroyed from one of its own worker threads (from inside one "
                   "of its tasks); destroy it from the thread that created it\n",
                   stderr);
        std::abort();
    }
}

unsigned runtime::workers() const noexcept { return scheduler_->worker_count(); }

std::uint64_t runtime::id() const noexcept { return scheduler_->id(); }

void runtime::check_block_on_allowed() const {
    if (detail::tls_worker != nullptr)
        throw usage_error(
            "weft::runtime::block_on called from a worker thread: it would block that worker "
            "(co_await the task instead)");
}

void runtime::submit(std::coroutine_handle<> h, bool fresh_child) {
    scheduler_->submit(fresh_child ? detail::as_fresh_child(h) : detail::as_item(h));
}

namespace detail {
unsigned parked_workers(const runtime& rt) noexcept { return rt.scheduler_->idle_state().parked_workers(); }
const char* io_backend_in_use(const runtime& rt) noexcept {
    return rt.scheduler_->io_backend() == io_backend_kind::io_uring ? "io_uring" : "epoll";
}
}  // namespace detail

}  // namespace weft
