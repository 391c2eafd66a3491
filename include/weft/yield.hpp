// yield(): let other tasks run. The task goes to the back of the runtime's global
// queue, so every other worker can pick it up and every queued task gets a turn.
// A cancelled task gets weft::cancelled when it comes back.
#pragma once

#include <weft/detail/cancel.hpp>
#include <weft/detail/export.hpp>
#include <weft/detail/worker_context.hpp>
#include <weft/errors.hpp>

#include <coroutine>

namespace weft {

namespace detail {

WEFT_API void schedule_yielded(worker_context& w, std::coroutine_handle<> h);

struct reschedule_awaiter {
    // Off a worker there is nobody to yield to.
    bool await_ready() const noexcept { return tls_worker == nullptr; }
    template <class Promise>
    void await_suspend(std::coroutine_handle<Promise> h) {
        scope_ = scope_of(h);  // read before h can run elsewhere
        schedule_yielded(*tls_worker, h);
    }
    // A cancelled task stops here: yield() is the await point of a busy loop.
    // The scope belongs to a suspended ancestor (or the frame), so it is alive.
    void await_resume() const {
        if (scope_ != nullptr && scope_->cancelled()) throw cancelled{};
    }

    cancel_scope* scope_ = nullptr;
};

}  // namespace detail

[[nodiscard]] inline detail::reschedule_awaiter yield() noexcept { return {}; }

}  // namespace weft
