// weft::event: asyncio.Event for tasks. wait() suspends the task until the event
// is set; set() wakes every waiting task and lets later waits pass at once, until
// reset().
#pragma once

#include <weft/detail/export.hpp>
#include <weft/detail/wait_list.hpp>

#include <atomic>
#include <coroutine>
#include <mutex>

namespace weft {

class WEFT_API event {
public:
    class [[nodiscard]] wait_awaiter : public detail::waiting_awaiter {
    public:
        explicit wait_awaiter(event& e) noexcept : e_(e) {}

        bool await_ready() const noexcept { return e_.is_set(); }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            return detail::suspend_waiter(waiter_, h, e_.guard_, e_.waiters_, "weft::event::wait",
                                          [this] { return e_.is_set(); });
        }
        void await_resume() { finish(); }

    private:
        event& e_;
    };

    // `initially_set`: start set (waits pass at once).
    explicit event(bool initially_set = false) noexcept : set_(initially_set) {}
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    ~event();

    // co_await e.wait() returns once the event is set. Throws weft::cancelled if
    // the task is cancelled while it waits.
    wait_awaiter wait() noexcept { return wait_awaiter(*this); }

    // Sets the event and wakes every task waiting for it. Callable from any thread.
    // A task that sees the event set may destroy it at once, even while set()
    // is still returning on another thread.
    void set() noexcept;
    // Clears it: later waits suspend until the next set().
    void reset() noexcept {
        // release: orders the caller's writes before waits that see the reset.
        set_.store(false, std::memory_order_release);
    }
    bool is_set() const noexcept {
        // acquire: pairs with set()'s exchange; a task that passes a set event
        // sees what the setter did before set().
        return set_.load(std::memory_order_acquire);
    }

private:
    // Written by set()/reset() from any thread; read by waits (under guard_ in
    // the slow path: set() exchanges it under guard_, so a waiter that read
    // `false` under the guard is queued before set() drains the list).
    std::atomic<bool> set_;
    detail::spin_lock guard_;
    detail::wait_list waiters_;
};

}  // namespace weft
