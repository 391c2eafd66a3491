// spin_lock: the lock for critical sections of a few pointer updates (cancellation
// scopes, sync primitives' waiter lists, epoll's per-socket waiters). Uncontended
// it is one atomic exchange to lock and one store to unlock, all inline, where a
// std::mutex costs two calls into libc; contended, it spins briefly and then
// yields the thread, so a preempted holder does not make the others burn a core.
#pragma once

#include <atomic>
#include <thread>

namespace weft::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

class spin_lock {
public:
    spin_lock() noexcept = default;
    spin_lock(const spin_lock&) = delete;
    spin_lock& operator=(const spin_lock&) = delete;

    void lock() noexcept {
        // acquire: pairs with unlock()'s release; the critical section sees what
        // the previous holder wrote in its own.
        while (locked_.exchange(true, std::memory_order_acquire)) {
            unsigned spins = 0;
            // relaxed: only decides when to retry the exchange, which orders.
            while (locked_.load(std::memory_order_relaxed)) {
                if (++spins < k_spins_before_yield)
                    cpu_relax();
                else
                    std::this_thread::yield();
            }
        }
    }

    bool try_lock() noexcept {
        // relaxed load first: a failing try does not take the line exclusively.
        // acquire on the exchange: as in lock().
        return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
    }

    void unlock() noexcept {
        // release: publishes the critical section to the next lock()'s acquire.
        locked_.store(false, std::memory_order_release);
    }

private:
    static constexpr unsigned k_spins_before_yield = 64;
    std::atomic<bool> locked_{false};
};

}  // namespace weft::detail
