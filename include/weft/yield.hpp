// yield(): let other tasks run. The task goes to the back of the runtime's global
// queue, so every other worker can pick it up and every queued task gets a turn.
#pragma once

#include <weft/detail/export.hpp>
#include <weft/detail/worker_context.hpp>

#include <coroutine>

namespace weft {

namespace detail {

WEFT_API void schedule_yielded(worker_context& w, std::coroutine_handle<> h);

struct reschedule_awaiter {
    // Off a worker there is nobody to yield to.
    bool await_ready() const noexcept { return tls_worker == nullptr; }
    void await_suspend(std::coroutine_handle<> h) const { schedule_yielded(*tls_worker, h); }
    void await_resume() const noexcept {}
};

}  // namespace detail

[[nodiscard]] inline detail::reschedule_awaiter yield() noexcept { return {}; }

}  // namespace weft
