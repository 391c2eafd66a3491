// weft::semaphore: asyncio.Semaphore for tasks. `co_await s.acquire()` takes one
// of n permits, suspending the task until one is free; release(k) returns k. Freed
// permits go to waiting tasks first, in the order they came.
#pragma once

#include <weft/detail/export.hpp>
#include <weft/detail/wait_list.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace weft {

class WEFT_API semaphore {
public:
    class [[nodiscard]] acquire_awaiter : public detail::waiting_awaiter {
    public:
        explicit acquire_awaiter(semaphore& s) noexcept : s_(s) {}

        bool await_ready() noexcept { return s_.try_acquire(); }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            return detail::suspend_waiter(waiter_, h, s_.guard_, s_.waiters_, "weft::semaphore::acquire",
                                          [this] { return s_.acquire_or_announce_waiter(); });
        }
        void await_resume() { finish(); }

    private:
        semaphore& s_;
    };

    // `permits` free permits to start with; usage_error above max_permits.
    explicit semaphore(std::size_t permits);
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    ~semaphore();

    static constexpr std::size_t max_permits = std::size_t{1} << 62;

    // co_await s.acquire() returns once this task holds a permit. Throws
    // weft::cancelled if the task is cancelled while it waits (it then holds none).
    acquire_awaiter acquire() noexcept { return acquire_awaiter(*this); }

    // Takes a permit if one is free and nobody is queued; never waits.
    bool try_acquire() noexcept {
        std::uint64_t s = state_.load(std::memory_order_relaxed);  // relaxed: the CAS decides
        while (!(s & k_waiters) && s >= k_one) {
            // acquire: pairs with release()'s release; we see what the releaser did.
            if (state_.compare_exchange_weak(s, s - k_one, std::memory_order_acquire, std::memory_order_relaxed))
                return true;
        }
        return false;
    }

    // Returns `k` permits, waking up to `k` waiting tasks. usage_error when the
    // count would pass max_permits.
    void release(std::size_t k = 1);

    // Free permits now (a snapshot).
    std::size_t available() const noexcept {
        // relaxed: a snapshot for tests and diagnostics.
        return static_cast<std::size_t>(state_.load(std::memory_order_relaxed) >> 1);
    }

private:
    // state_: free permits times k_one, plus k_waiters while tasks may be queued.
    // INV-SEM: k_waiters set => no free permits (release() hands them to waiters
    // first). k_waiters is set and cleared only under guard_; the count changes by
    // CAS from any thread while k_waiters is clear.
    static constexpr std::uint64_t k_waiters = 1;
    static constexpr std::uint64_t k_one = 2;

    bool acquire_or_announce_waiter() noexcept;

    std::atomic<std::uint64_t> state_;
    detail::spin_lock guard_;
    detail::wait_list waiters_;
};

}  // namespace weft
