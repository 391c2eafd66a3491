// timeout(d, task): Python's asyncio.wait_for. Runs the task with a deadline; when
// the deadline passes first, the task is cancelled (the timer or I/O operation it
// waits on is cancelled, it sees weft::cancelled there) and joined.
#pragma once

#include <weft/detail/cancel.hpp>
#include <weft/detail/export.hpp>
#include <weft/errors.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {

// Cancels `scope` at `deadline` from the calling worker's timing wheel, unless
// disarmed first. Throws usage_error off a weft worker.
class WEFT_API deadline_canceller {
public:
    deadline_canceller(std::chrono::steady_clock::time_point deadline, cancel_scope& scope);
    ~deadline_canceller();

    deadline_canceller(const deadline_canceller&) = delete;
    deadline_canceller& operator=(const deadline_canceller&) = delete;

    // Stops the timer (waiting out a firing in progress on another worker); true
    // when it had fired.
    bool disarm() noexcept;

private:
    struct state;
    std::unique_ptr<state> state_;
};

// co_await this_cancel_context{} gives the awaiting task's own cancel_context.
struct this_cancel_context {
    cancel_context* ctx = nullptr;
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
        ctx = &h.promise();
        return false;  // resume at once
    }
    cancel_context& await_resume() const noexcept { return *ctx; }
};

template <class T>
using timeout_result_t = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

}  // namespace detail

// Gives the task's result, or an empty optional (false for task<void>) when `d`
// passed first. Then the task was cancelled: at the timer or I/O operation it was
// waiting on it got weft::cancelled, and its frame is destroyed before timeout
// returns. A task that finishes despite the cancellation (it caught
// weft::cancelled and returned a value) gives that value. Any other exception
// from the task is rethrown. Timeouts nest: an outer deadline also cancels the
// inner task, and then the inner timeout rethrows weft::cancelled.
template <class Rep, class Period, class T>
task<detail::timeout_result_t<T>> timeout(std::chrono::duration<Rep, Period> d, task<T> t) {
    task<T>::check_awaitable(t.handle(), "weft::timeout");
    detail::cancel_context& self = co_await detail::this_cancel_context{};
    detail::cancel_scope* const outer = self.scope_;
    detail::cancel_scope scope(outer);
    detail::deadline_canceller timer(detail::deadline_after(d), scope);
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
    self.scope_ = &scope;  // the child inherits it when awaited
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(t);
            value.emplace(true);
        } else {
            value.emplace(co_await std::move(t));
        }
    } catch (...) {
        error = std::current_exception();
    }
    self.scope_ = outer;
    t = task<T>{};  // the child's frame goes before we return
    const bool fired = timer.disarm();
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const cancelled&) {
            // An outer cancellation: pass it on. Also when our deadline fired
            // too: both can fall due in one poll (the outer one first), and the
            // outer timeout must then report its own deadline, not our value.
            if (!fired || (outer != nullptr && outer->cancelled())) throw;
        }
        if constexpr (std::is_void_v<T>)
            co_return false;
        else
            co_return std::nullopt;
    }
    if constexpr (std::is_void_v<T>)
        co_return true;
    else
        co_return std::move(value);
}

// Any other awaitable, e.g. timeout(d, ch.recv()), timeout(d, m.lock()) or
// timeout(d, when_all(...)): it runs as a task that awaits it, and the deadline
// cancels it at that await.
template <class Rep, class Period, detail::non_task_awaitable A>
auto timeout(std::chrono::duration<Rep, Period> d, A&& a) {
    return timeout(d, detail::as_task(std::forward<A>(a)));
}

}  // namespace weft
