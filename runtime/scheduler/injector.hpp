// The global injection queue: FIFO, for submissions from outside the runtime,
// yielded tasks and the overflow of full local deques. Workers poll it when their
// own deque is empty and every `global_queue_interval` ticks (fairness).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace weft::detail {

class injector {
public:
    void push(std::uintptr_t item) {
        std::lock_guard lock(mutex_);
        items_.push_back(item);
        // seq_cst: the producer's half of the park race (park.cpp, INV-1): this
        // store is ordered before the producer's seq_cst read of the idle state.
        len_.store(items_.size(), std::memory_order_seq_cst);
    }

    void push_batch(const std::uintptr_t* items, std::size_t n) {
        std::lock_guard lock(mutex_);
        items_.insert(items_.end(), items, items + n);
        len_.store(items_.size(), std::memory_order_seq_cst);  // as in push()
    }

    // 0 when empty.
    std::uintptr_t pop() {
        if (looks_empty()) return 0;  // no lock on the common empty path
        std::lock_guard lock(mutex_);
        if (items_.empty()) return 0;
        const std::uintptr_t item = items_.front();
        items_.pop_front();
        len_.store(items_.size(), std::memory_order_relaxed);  // written under the lock
        return item;
    }

    bool looks_empty() const noexcept {
        // seq_cst: a parking worker's half of the park race (INV-1). Elsewhere a
        // stale "empty" only delays a poll: pushes also wake a worker.
        return len_.load(std::memory_order_seq_cst) == 0;
    }

    // Shutdown, after every worker has stopped: forget every item (their frames
    // are owned elsewhere and destroyed by their owners).
    void clear() {
        std::lock_guard lock(mutex_);
        items_.clear();
        len_.store(0, std::memory_order_relaxed);
    }

private:
    std::mutex mutex_;
    std::deque<std::uintptr_t> items_;
    // Written under mutex_; read without it by looks_empty().
    std::atomic<std::size_t> len_{0};
};

}  // namespace weft::detail
