// weft::mutex: asyncio.Lock for tasks. `co_await m.lock()` suspends the task (not
// the worker) until the mutex is free and gives a guard that unlocks it. Unlock
// hands the mutex to the longest-waiting task (FIFO), so no waiter starves.
#pragma once

#include <weft/detail/export.hpp>
#include <weft/detail/wait_list.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <utility>

namespace weft {

class WEFT_API mutex {
public:
    // Owns a lock on a mutex; unlocks it when destroyed. Movable.
    class [[nodiscard]] guard {
    public:
        guard() noexcept = default;
        guard(mutex& m, std::adopt_lock_t) noexcept : m_(&m) {}
        guard(guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
        guard& operator=(guard&& o) noexcept {
            if (this != &o) {
                reset();
                m_ = std::exchange(o.m_, nullptr);
            }
            return *this;
        }
        ~guard() { reset(); }

        // Unlocks early; the destructor then does nothing.
        void unlock() { reset(); }
        bool owns_lock() const noexcept { return m_ != nullptr; }
        explicit operator bool() const noexcept { return owns_lock(); }

    private:
        void reset() noexcept {
            if (mutex* m = std::exchange(m_, nullptr)) m->unlock_owned();
        }
        mutex* m_ = nullptr;
    };

    class [[nodiscard]] lock_awaiter : public detail::waiting_awaiter {
    public:
        explicit lock_awaiter(mutex& m) noexcept : m_(m) {}

        bool await_ready() noexcept { return m_.try_lock(); }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            return detail::suspend_waiter(waiter_, h, m_.guard_, m_.waiters_, "weft::mutex::lock",
                                          [this] { return m_.lock_or_announce_waiter(); });
        }
        guard await_resume() {
            finish();
            if (waiter_.slot_ != nullptr) m_.take_handoff(waiter_);
            return guard(m_, std::adopt_lock);
        }
        // A frame destroyed after the mutex was handed to it, before it resumed
        // (its runtime shut down with it queued): the hand-off is undone, so that
        // a mutex that outlives the runtime is not left locked for good.
        ~lock_awaiter() {
            if (waiter_.slot_ != nullptr) static_cast<mutex*>(waiter_.slot_)->drop_handoff(waiter_);
        }
        lock_awaiter(lock_awaiter&&) noexcept = default;

    private:
        mutex& m_;
    };

    mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;
    ~mutex();

    // co_await m.lock() gives a guard once this task holds the mutex. Throws
    // weft::cancelled if the task is cancelled while it waits (it then does not
    // hold the mutex).
    lock_awaiter lock() noexcept { return lock_awaiter(*this); }

    // Takes the mutex if it is free (then the caller must unlock() it, or adopt it
    // into a guard); never waits.
    bool try_lock() noexcept {
        std::uint32_t expected = 0;
        // acquire: pairs with the release in unlock(); the critical section sees
        // the previous holder's writes.
        return state_.compare_exchange_strong(expected, k_locked, std::memory_order_acquire,
                                              std::memory_order_relaxed);
    }

    // Releases the mutex: to the first waiting task if there is one. Throws
    // usage_error if the mutex is not locked.
    void unlock();

    bool is_locked() const noexcept {
        // relaxed: a snapshot for tests and diagnostics; it orders nothing.
        return state_.load(std::memory_order_relaxed) != 0;
    }

private:
    friend class guard;
    // state_: 0 free; k_locked held; k_locked | k_waiters held and some task may be
    // queued (the bit can outlive a cancelled waiter; unlock's slow path clears
    // it). Written by CAS from any thread; k_waiters is set and cleared only
    // under guard_.
    static constexpr std::uint32_t k_locked = 1;
    static constexpr std::uint32_t k_waiters = 2;

    // Under guard_: takes the mutex if free, or sets k_waiters so that unlock()
    // takes the slow path and finds the waiter about to be queued.
    bool lock_or_announce_waiter() noexcept;
    void unlock_owned() noexcept;
    // The waiter unlock_owned() handed the mutex to resumed: it holds it now.
    void take_handoff(detail::sync_waiter& w) noexcept {
        // Plain writes: only the waiter's task touches them until it unlocks
        // (~mutex, at a shutdown, comes after its runtime's workers stopped).
        granted_ = nullptr;
        w.slot_ = nullptr;
    }
    // Its frame went before it resumed: unlocks on its behalf.
    void drop_handoff(detail::sync_waiter& w) noexcept;

    std::atomic<std::uint32_t> state_{0};
    detail::spin_lock guard_;
    detail::wait_list waiters_;
    // The waiter handed the mutex and not yet resumed (at most one: the mutex is
    // its until it unlocks); set under guard_, cleared by take_handoff() or
    // drop_handoff(). ~mutex tells it that the mutex is gone.
    detail::sync_waiter* granted_ = nullptr;
};

}  // namespace weft
