// The blocking pool: a mutex-protected queue and condition variable. File I/O
// costs far more than the lock, and nothing here is on a scheduler hot path.
#include "blocking_pool.hpp"

#include <pthread.h>

#include <string>

namespace weft::detail {

blocking_pool::blocking_pool(unsigned threads, const std::string& thread_name)
    : threads_wanted_(threads), thread_name_(thread_name) {}

void blocking_pool::stop() noexcept {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
}

void blocking_pool::submit(job& j) {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // shutdown: the task stays suspended for its owner
    if (threads_.size() < threads_wanted_ && threads_.size() <= jobs_.size()) {
        threads_.emplace_back([this] { loop(); });
        const std::string name = thread_name_ + "-io" + std::to_string(threads_.size() - 1);
        pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
    }
    jobs_.push_back(&j);
    cv_.notify_one();
}

void blocking_pool::loop() noexcept {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job* j = jobs_.front();
        jobs_.pop_front();
        lock.unlock();
        j->run_(*j);
        j->done_(*j);
        lock.lock();
    }
}

}  // namespace weft::detail
