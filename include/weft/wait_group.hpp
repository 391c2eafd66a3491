// weft::wait_group: Go's sync.WaitGroup for tasks. add(n) before starting n pieces
// of work, done() as each finishes, and `co_await wg.wait()` returns once the
// count is back to zero.
#pragma once

#include <weft/detail/export.hpp>
#include <weft/detail/wait_list.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>

namespace weft {

class WEFT_API wait_group {
public:
    class [[nodiscard]] wait_awaiter : public detail::waiting_awaiter {
    public:
        explicit wait_awaiter(wait_group& g) noexcept : g_(g) {}

        bool await_ready() const noexcept { return g_.count() == 0; }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            return detail::suspend_waiter(waiter_, h, g_.guard_, g_.waiters_, "weft::wait_group::wait",
                                          [this] { return g_.count() == 0; });
        }
        void await_resume() { finish(); }

    private:
        wait_group& g_;
    };

    wait_group() noexcept = default;
    wait_group(const wait_group&) = delete;
    wait_group& operator=(const wait_group&) = delete;
    ~wait_group();

    // Adds `n` (may be negative) to the count; at zero, wakes every waiting task.
    // usage_error if the count would go below zero (the count is left unchanged).
    // A task that sees zero may destroy the group at once, even while the
    // add() that reached it is still returning on another thread.
    void add(std::int64_t n = 1);
    // add(-1): one piece of work finished.
    void done() { add(-1); }

    // co_await wg.wait() returns once the count is zero. Throws weft::cancelled if
    // the task is cancelled while it waits.
    wait_awaiter wait() noexcept { return wait_awaiter(*this); }

    std::int64_t count() const noexcept {
        // acquire: pairs with add()'s release; a waiter that sees zero sees what
        // every done() caller did before it.
        return count_.load(std::memory_order_acquire);
    }

private:
    // Changed by add() from any thread; the add that reaches zero does so under
    // guard_ and wakes the queue (a waiter reads the count under guard_ first).
    std::atomic<std::int64_t> count_{0};
    detail::spin_lock guard_;
    detail::wait_list waiters_;
};

}  // namespace weft
