// A few threads for blocking calls that no reactor can wait on: files under the
// epoll backend (regular files are always "ready" to epoll). io_uring does not
// use it.
#pragma once

#include <cerrno>
#include <cstdint>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace weft::detail {

// A blocking system call made by a job inside a cancel_point can be cut short
// by stop() or cancel() (a FIFO's open waits for a peer that may never come):
// the pool threads run with POSIX thread cancellation disabled, and a
// cancel_point enables it for the one call. A cancelled call does not return:
// the thread unwinds (glibc's forced unwind runs the destructors on the way) and
// exits. (glibc can act on a cancellation that lands just as the call returns,
// after it succeeded in the kernel: glibc bug 12683. Its result is then lost: a
// read's bytes, or an open's descriptor, which leaks. The window is a few
// instructions wide, and a cancel must land in it.)
class cancel_point {
public:
    // `enable` false: no cancel point (a call that returns in bounded time, such
    // as a regular file's read, is better finished than cut short).
    explicit cancel_point(bool enable = true) noexcept;
    ~cancel_point();
    cancel_point(const cancel_point&) = delete;
    cancel_point& operator=(const cancel_point&) = delete;

    // The call came back: this thread is not being cancelled in it.
    void returned() noexcept;
    // True while this thread unwinds from a call cut short (whoever catches
    // everything on the way must rethrow it: catch (...) { if (...) throw; }).
    static bool unwinding() noexcept;

private:
    bool enabled_;
    int previous_ = 0;
};

// f() (a system call) as a cancel_point when `enable`; errno as the call left it.
template <class F>
auto in_cancel_point(bool enable, F f) {
    decltype(f()) result;
    int error;
    {
        cancel_point point(enable);
        result = f();
        error = errno;
        point.returned();
    }
    errno = error;
    return result;
}

// Blocks SIGPIPE on the calling thread; every thread weft starts calls it. A write
// to a pipe whose reader is gone (fs::write_file to a FIFO or to stdout piped into
// `head`) then fails with EPIPE, an io_error, instead of killing the process. The
// signal the kernel still raises stays pending on this thread. (Sockets send with
// MSG_NOSIGNAL.)
void block_sigpipe_here() noexcept;

// One pool thread; its flags under the pool's mutex.
struct thread_slot {
    std::thread thread;
    std::size_t index = 0;  // for its name
    bool busy = false;    // inside a job
    bool doomed = false;  // a cancel() sent it a cancellation request: exits after its job
    bool exited = false;  // left loop(), or about to: join before reuse
};

class blocking_pool {
public:
    struct job {
        // Runs on a pool thread. Its only exception is the forced unwind of a
        // cancel_point cut short by stop() or cancel(), which it must let
        // through (see cancel_point::unwinding); it reports any other failure
        // through the job. Then done_ runs on the pool thread too (after a
        // cut-short call only if cancel() did it and the pool is not stopping).
        void (*run_)(job&) = nullptr;
        void (*done_)(job&) noexcept = nullptr;

        // Under the pool's mutex until done_ runs (then the job's task reads it):
        // where the job is, and whether cancel() kept it from running or cut its
        // call short (then done_ runs all the same, unless the pool is stopping).
        enum class stage : std::uint8_t { waiting, queued, running, finished };
        stage stage_ = stage::waiting;
        bool cancelled_ = false;
        // Not 0: the job never ran because the pool had no thread and could not
        // start one (the errno of the failed start, EAGAIN when out of threads).
        int no_thread_ = 0;
        thread_slot* slot_ = nullptr;  // while running: its thread
        job* next_failed_ = nullptr;   // see job_ended
    };

    blocking_pool(unsigned threads, const std::string& thread_name);
    ~blocking_pool() { stop(); }

    // Joins the threads. A running job finishes, unless it is blocked in a
    // cancel_point (or reaches one): then its thread is cancelled there, so only
    // the calls a job marks as possibly endless are cut short. Queued
    // jobs never run. Either way the jobs' tasks stay suspended: their frames are
    // destroyed by their owners at shutdown, after this.
    void stop() noexcept;
    // Queues `j`: true, and its task waits for done_ (or, once the pool is
    // stopping, for its owner to destroy it). False when the job never runs:
    // cancel() came first (cancelled_ set), or the pool has no thread and none
    // could start (no_thread_ set).
    bool submit(job& j);
    // Any thread. A job not yet submitted is marked: submit() refuses it. A
    // queued job is taken out: true, and done_ does not run (the caller resumes
    // its task; cancelled_ is set). A running job's thread gets a
    // cancellation request: a call of the job inside a cancel_point is cut short,
    // and done_ then runs with cancelled_ set; a job that makes no such call
    // finishes as usual. Either way that thread exits after the job, since the
    // request stays pending for the next cancel_point it would reach. False
    // otherwise (the job finished, or the pool is stopping).
    bool cancel(job& j) noexcept;

private:
    struct cut_short_watch;

    void loop(thread_slot& slot);
    // Under mutex_: starts a thread if the queued jobs outnumber the idle ones
    // and the pool has room. 0, or the errno of a failed start.
    int add_thread_if_needed() noexcept;
    // Under mutex_: the job ended (normally or cut short) on `slot`'s thread;
    // true if that thread must exit now. When it was the last thread and no
    // replacement could start, the queued jobs fail with no_thread_ and are
    // listed in `failed` (through next_failed_) for the caller to finish with
    // finish_failed() once it has unlocked.
    bool job_ended(job& j, thread_slot& slot, job*& failed) noexcept;
    static void finish_failed(job* failed) noexcept;

    const unsigned threads_wanted_;
    const std::string thread_name_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<job*> jobs_;
    bool stopping_ = false;
    // Started on demand (submit); a slot whose thread exited after a cancel()
    // is joined and reused. Stable addresses: a running job points at its slot.
    std::deque<thread_slot> threads_;
    std::size_t live_ = 0;  // under mutex_: threads not exited
    std::size_t idle_ = 0;  // under mutex_: threads waiting for a job
};

}  // namespace weft::detail
