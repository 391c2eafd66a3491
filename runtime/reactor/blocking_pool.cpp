// The blocking pool: a mutex-protected queue and condition variable. File I/O
// costs far more than the lock, and nothing here is on a scheduler hot path.
// Shutdown cuts blocked calls short with POSIX thread cancellation (cancel_point).
#include "blocking_pool.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

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
        jobs_.clear();  // their stages no longer matter: cancel() and submit() see stopping_
        // A thread inside a job gets a cancellation request. Deferred, and
        // disabled outside cancel_points: it acts only in (or at the next) call
        // the job marked as one; a job that makes none just finishes, and the
        // request dies with the thread. Under the lock, so a thread that left
        // its job (it clears busy under the lock) is not cancelled. One that a
        // cancel() sent a request already needs no second one.
        for (thread_slot& t : threads_)
            if (t.busy && !t.doomed) pthread_cancel(t.thread.native_handle());
    }
    cv_.notify_all();
    for (thread_slot& t : threads_)
        if (t.thread.joinable()) t.thread.join();
    threads_.clear();
}

bool blocking_pool::submit(job& j) {
    std::lock_guard lock(mutex_);
    if (stopping_) return true;  // shutdown: the task stays suspended for its owner
    if (j.cancelled_) return false;  // cancel() came before us (stage_ waiting)
    jobs_.push_back(&j);
    j.stage_ = job::stage::queued;  // only once queued: cancel() may take it out now
    // No new thread: one that is busy now takes the job later; with none at
    // all, the job fails and nothing stays queued.
    if (const int error = add_thread_if_needed(); error != 0 && live_ == 0) {
        jobs_.pop_back();
        j.stage_ = job::stage::finished;
        j.no_thread_ = error;
        return false;
    }
    cv_.notify_one();
    return true;
}

int blocking_pool::add_thread_if_needed() noexcept {
    // A new thread when no idle one is left over for the queued jobs. Busy
    // threads do not count: a job may block for long (a FIFO's open), and the
    // next must not queue behind it while the pool has room for another thread.
    if (live_ >= threads_wanted_ || idle_ >= jobs_.size()) return 0;
    // The slot of a thread that exited after a cancel(), or a new one. Such a
    // thread touches nothing of the pool after setting `exited` (under the lock
    // we hold), so joining it here waits for no lock of ours. (A pool thread on
    // its way out calls this before marking its own slot exited.)
    thread_slot* slot = nullptr;
    for (thread_slot& t : threads_)
        if (t.exited) {
            slot = &t;
            break;
        }
    try {
        if (slot != nullptr) {
            if (slot->thread.joinable()) slot->thread.join();  // not after a failed start
            const std::size_t index = slot->index;
            *slot = thread_slot{};
            slot->index = index;
        } else {
            slot = &threads_.emplace_back();
            slot->index = threads_.size() - 1;
        }
        slot->thread = std::thread([this, slot] { loop(*slot); });
    } catch (const std::system_error& e) {
        if (slot != nullptr) slot->exited = true;  // no thread: the slot waits for the next start
        return e.code().value() != 0 ? e.code().value() : EAGAIN;
    } catch (...) {  // out of memory for the slot
        if (slot != nullptr) slot->exited = true;
        return ENOMEM;
    }
    ++live_;
    ++idle_;  // it waits for the mutex we hold, then for work
    char name[16];  // the kernel keeps 15 bytes
    std::snprintf(name, sizeof name, "%s-io%zu", thread_name_.c_str(), slot->index);
    pthread_setname_np(slot->thread.native_handle(), name);
    return 0;
}

bool blocking_pool::cancel(job& j) noexcept {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    switch (j.stage_) {
    case job::stage::waiting:
        // Registered in its scope but not submitted yet: submit() refuses it.
        j.cancelled_ = true;
        return false;
    case job::stage::queued:
        std::erase(jobs_, &j);
        j.stage_ = job::stage::finished;
        j.cancelled_ = true;
        return true;
    case job::stage::running:
        if (!j.slot_->doomed) {
            // Under the lock: the thread is still inside this job (it clears
            // busy under the lock), so the request cannot reach a later job's
            // call; doomed makes the thread exit before it takes another.
            j.slot_->doomed = true;
            pthread_cancel(j.slot_->thread.native_handle());
        }
        return false;
    case job::stage::finished: return false;
    }
    return false;
}

bool blocking_pool::job_ended(job& j, thread_slot& slot, job*& failed) noexcept {
    j.stage_ = job::stage::finished;
    j.slot_ = nullptr;
    slot.busy = false;
    if (!slot.doomed && !stopping_) {
        ++idle_;
        return false;
    }
    --live_;
    // Jobs queued behind this one must not wait for the next submit() to get a
    // thread. If none can start now (out of threads) and no other thread is
    // left to take them, they fail rather than wait for ever.
    if (!stopping_) {
        if (const int error = add_thread_if_needed(); error != 0 && live_ == 0) {
            for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
                job& q = **it;
                q.stage_ = job::stage::finished;
                q.no_thread_ = error;
                q.next_failed_ = failed;
                failed = &q;  // walked from the back: the list is in queue order
            }
            jobs_.clear();
        }
    }
    slot.exited = true;
    return true;
}

void blocking_pool::finish_failed(job* failed) noexcept {
    while (failed != nullptr) {
        job* next = failed->next_failed_;
        failed->done_(*failed);  // its task may free it now
        failed = next;
    }
}

void block_sigpipe_here() noexcept {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
}

// Around a job's run_: when a cancellation cuts its call short, the thread
// unwinds through here (and then exits). The job's task is resumed with
// cancelled_ set if cancel() did it; at stop() it stays suspended for its owner.
struct blocking_pool::cut_short_watch {
    blocking_pool& pool;
    job& j;
    thread_slot& slot;
    bool returned = false;

    ~cut_short_watch() {
        if (returned) return;
        bool resume;
        job* failed = nullptr;
        {
            std::lock_guard lock(pool.mutex_);
            resume = !pool.stopping_;
            j.cancelled_ = true;
            pool.job_ended(j, slot, failed);  // doomed or stopping: the thread exits
        }
        if (resume) j.done_(j);
        finish_failed(failed);
    }
};

void blocking_pool::loop(thread_slot& slot) {
    block_sigpipe_here();
    // Cancellable only inside cancel_points (stop(), cancel()).
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) {
            slot.exited = true;
            --live_;
            return;
        }
        job* j = jobs_.front();
        jobs_.pop_front();
        --idle_;
        slot.busy = true;
        j->stage_ = job::stage::running;
        j->slot_ = &slot;
        lock.unlock();
        {
            cut_short_watch watch{*this, *j, slot};
            j->run_(*j);  // a cancellation by stop() or cancel() unwinds from here, unlocked
            watch.returned = true;
        }
        lock.lock();
        job* failed = nullptr;
        const bool exit = job_ended(*j, slot, failed);
        lock.unlock();
        j->done_(*j);  // the task may free the job now: touch it no more
        finish_failed(failed);
        if (exit) return;
        lock.lock();
    }
}

}  // namespace weft::detail
