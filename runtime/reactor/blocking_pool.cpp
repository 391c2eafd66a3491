// The blocking pool: a mutex-protected queue and condition variable. File I/O
// costs far more than the lock, and nothing here is on a scheduler hot path.
// Shutdown cuts blocked calls short with POSIX thread cancellation (cancel_point).
#include "blocking_pool.hpp"

#include <pthread.h>
#include <signal.h>

#include <string>

namespace weft::detail {

blocking_pool::blocking_pool(unsigned threads, const std::string& thread_name)
    : threads_wanted_(threads), thread_name_(thread_name) {}

namespace {
// Set by a cancel_point, cleared when its call returns: still set while the
// thread unwinds from a call cut short. (glibc's forced unwind is not a C++
// exception object: catching it by type binds a reference to null.)
thread_local bool tls_in_cancel_point = false;
}  // namespace

cancel_point::cancel_point(bool enable) noexcept : enabled_(enable) {
    if (!enabled_) return;
    tls_in_cancel_point = true;
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &previous_);
}

cancel_point::~cancel_point() {
    if (enabled_) pthread_setcancelstate(previous_, nullptr);
}

void cancel_point::returned() noexcept { tls_in_cancel_point = false; }

bool cancel_point::unwinding() noexcept { return tls_in_cancel_point; }

void blocking_pool::stop() noexcept {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
        // A thread inside a job gets a cancellation request. Deferred, and
        // disabled outside cancel_points: it acts only in (or at the next) call
        // the job marked as one; a job that makes none just finishes, and the
        // request dies with the thread. Under the lock, so a thread that left
        // its job (it clears its flag under the lock) is not cancelled.
        for (std::size_t i = 0; i < threads_.size(); ++i)
            if (running_job_[i]) pthread_cancel(threads_[i].native_handle());
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    running_job_.clear();
}

void blocking_pool::submit(job& j) {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // shutdown: the task stays suspended for its owner
    // A new thread when no idle one is left over for this job. Busy threads do
    // not count: a job may block for long (a FIFO's open), and the next must not
    // queue behind it while the pool has room for another thread.
    if (threads_.size() < threads_wanted_ && idle_ <= jobs_.size()) {
        const std::size_t index = threads_.size();
        running_job_.push_back(false);
        try {
            threads_.emplace_back([this, index] { loop(index); });
        } catch (...) {
            running_job_.pop_back();  // no thread: the books stay as they were
            throw;
        }
        ++idle_;  // it waits for the mutex we hold, then for work
        const std::string name = thread_name_ + "-io" + std::to_string(index);
        pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
    }
    jobs_.push_back(&j);
    cv_.notify_one();
}

void block_sigpipe_here() noexcept {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
}

void blocking_pool::loop(std::size_t index) {
    block_sigpipe_here();
    // Cancellable only inside cancel_points (stop()).
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job* j = jobs_.front();
        jobs_.pop_front();
        --idle_;
        running_job_[index] = true;
        lock.unlock();
        j->run_(*j);  // a cancellation by stop() unwinds from here, unlocked
        j->done_(*j);
        lock.lock();
        running_job_[index] = false;
        ++idle_;
    }
}

}  // namespace weft::detail
