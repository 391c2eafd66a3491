// weft::runtime: the public face of the scheduler (runtime/scheduler/).
#include <weft/runtime.hpp>

#include "scheduler/scheduler.hpp"

namespace weft {

runtime::runtime(const config& cfg) {
    cfg.validate();
    scheduler_ = std::make_unique<detail::scheduler>(cfg);
}

runtime::~runtime() = default;

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
}  // namespace detail

}  // namespace weft
