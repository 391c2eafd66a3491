// The backend-neutral half of a worker's reactor: choosing the backend, the park
// and wake protocol, timers, and the cancel inbox.
//
// INV-WAKE (no lost wake-up of a parked worker): a waker first publishes its news
// (the parked word set to 0 by idle::unpark, or a cancel request in the inbox) with
// a seq_cst operation, then exchanges sleeping_ to false (seq_cst) and notifies the
// backend if it was true. The owner stores sleeping_ = true (seq_cst), then
// re-reads the parked word and the inbox (seq_cst) before it blocks. In the total
// order of these operations either the owner's re-read sees the news and it does
// not block, or the waker's exchange sees `true` and its notify makes the blocking
// poll return (an eventfd stays readable until drained).
#include "reactor.hpp"

#include "../scheduler/worker.hpp"
#include "epoll.hpp"
#include "uring.hpp"

#include <weft/errors.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace weft::detail {

namespace {

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Prints a note on stderr once per process.
void say_once(std::atomic<bool>& said, const char* what) {
    // relaxed: only decides who prints the note.
    if (!said.exchange(true, std::memory_order_relaxed)) std::fputs(what, stderr);
}

}  // namespace

bool running_under_valgrind() noexcept {
    const char* preload = std::getenv("LD_PRELOAD");
    return preload != nullptr && std::strstr(preload, "vgpreload") != nullptr;
}

reactor::reactor(io_backend_kind kind, const config& cfg)
    : event_batch_(cfg.io_event_batch), kind_(kind), wheel_(now_ns()) {}

reactor::~reactor() = default;

io_backend_kind reactor::choose(const config& cfg) {
    if (cfg.io_backend == "epoll") return io_backend_kind::epoll;
    // valgrind (3.19, Debian 12's) runs io_uring_enter as a system call that never
    // blocks, so it keeps its one big lock while a worker waits in its ring: every
    // other thread stops and the process hangs.
    if (running_under_valgrind()) {
        if (cfg.io_backend == "io_uring")
            throw config_error("io_backend", cfg.io_backend,
                               "valgrind (found in LD_PRELOAD) hangs when a worker waits in io_uring_enter; "
                               "use \"auto\" or \"epoll\" under valgrind");
        static std::atomic<bool> said_valgrind{false};
        say_once(said_valgrind, "weft: running under valgrind, which hangs in io_uring_enter; using epoll\n");
        return io_backend_kind::epoll;
    }
    const int err = uring_reactor::probe();
    if (err == 0) return io_backend_kind::io_uring;
    if (cfg.io_backend == "io_uring")
        throw io_error(err, "io_uring_queue_init (io_backend=\"io_uring\"; use \"auto\" or \"epoll\" to fall back)");
    static std::atomic<bool> said_unavailable{false};
    const std::string note =
        std::string("weft: io_uring is not available (io_uring_queue_init: ") + std::strerror(err) + "); using epoll\n";
    say_once(said_unavailable, note.c_str());
    return io_backend_kind::epoll;
}

std::unique_ptr<reactor> reactor::create(io_backend_kind kind, const config& cfg, std::uint64_t runtime_id) {
    if (kind == io_backend_kind::io_uring) return std::make_unique<uring_reactor>(cfg);
    return std::make_unique<epoll_reactor>(cfg, runtime_id);
}

void reactor::start(io_op&) {
    throw usage_error("weft: internal error: ring operation submitted to an epoll reactor");
}

void reactor::cancel_in_kernel(io_op&) {}

bool reactor::has_pending() const noexcept {
    // relaxed: hints; the worker re-checks before it parks (park() drains all).
    return wheel_.size() != 0 || inbox_size_.load(std::memory_order_relaxed) != 0 || backend_pending();
}

void reactor::resume(std::coroutine_handle<> h) noexcept {
    if (closing_) return;
    schedule_woken(*tls_worker, h);
}

void reactor::complete(io_op& op, std::int32_t result) noexcept {
    op.result_ = result;
    op.completed_ = true;
    if (op.scope_ == nullptr) {  // never registered for cancellation
        resume(op.waiter_);
        return;
    }
    std::uint8_t expected = io_op::k_pending;
    // acq_rel: acquire pairs with a canceller's CAS if it won (then we wait for its
    // request); release is for symmetry, nothing is published through it.
    if (op.state_.compare_exchange_strong(expected, io_op::k_done, std::memory_order_acq_rel) || op.cancel_seen_)
        resume(op.waiter_);
}

void reactor::post_cancel(io_op& op) {
    {
        std::lock_guard lock(inbox_mutex_);
        inbox_.push_back(&op);
        // seq_cst: the waker's publication in INV-WAKE.
        inbox_size_.store(inbox_.size(), std::memory_order_seq_cst);
    }
    wake();
}

void reactor::withdraw_cancel(io_op& op) noexcept {
    std::lock_guard lock(inbox_mutex_);
    std::erase(inbox_, &op);
    inbox_size_.store(inbox_.size(), std::memory_order_relaxed);  // relaxed: under the lock; only a hint
}

bool reactor::drain_inbox() {
    // relaxed: a hint; a request that races past it is seen at the next poll, and
    // park() re-reads it with seq_cst (INV-WAKE).
    if (inbox_size_.load(std::memory_order_relaxed) == 0) return false;
    std::vector<io_op*> requests;
    {
        std::lock_guard lock(inbox_mutex_);
        requests.swap(inbox_);
        inbox_size_.store(0, std::memory_order_relaxed);  // relaxed: under the lock
    }
    for (std::size_t i = 0; i < requests.size(); ++i) {
        io_op* op = requests[i];
        if (!op->completed_) {
            try {
                cancel_in_kernel(*op);  // its completion (likely -ECANCELED) resumes it
            } catch (const io_error&) {
                // No submission slot (the ring is backed up): ask again at the
                // next poll, with the requests not yet seen. Until then the
                // operation waits as if no cancel had come (cancel_seen_ unset:
                // a completion meanwhile leaves it to that drain to resume).
                std::lock_guard lock(inbox_mutex_);
                inbox_.insert(inbox_.end(), requests.begin() + static_cast<std::ptrdiff_t>(i), requests.end());
                inbox_size_.store(inbox_.size(), std::memory_order_relaxed);  // relaxed: under the lock
                return true;
            }
            op->cancel_seen_ = true;
        } else {
            op->cancel_seen_ = true;
            resume(op->waiter_);
        }
    }
    return true;
}

bool reactor::fire_timers() { return wheel_.size() != 0 && wheel_.fire_expired(now_ns()) != 0; }

void reactor::poll_now() {
    drain_inbox();
    fire_timers();
    if (backend_pending()) poll_backend(0);
}

void reactor::park(const std::atomic<std::uint32_t>& parked_word, std::int64_t max_wait_ns) {
    // A timer that fell due while the worker searched, or a cancel request for an
    // operation that had already completed, resumes its task here: into the
    // worker's LIFO slot, without a notify (the worker is still a sleeper). Then
    // the poll must not block (the wheel may hold nothing else, and a wait with no
    // deadline would never end); the worker runs the task when park() returns.
    const bool resumed_something = drain_inbox() | fire_timers();
    std::int64_t timeout = -1;
    if (resumed_something)
        timeout = 0;
    else if (wheel_.size() != 0)  // skips the wheel's lock when it is empty (see timer_wheel::insert)
        if (auto deadline = wheel_.next_deadline_ns()) timeout = std::max<std::int64_t>(0, *deadline - now_ns());
    if (max_wait_ns >= 0 && (timeout < 0 || timeout > max_wait_ns)) timeout = max_wait_ns;
    // INV-WAKE, the owner's side.
    sleeping_.store(true, std::memory_order_seq_cst);
    if (parked_word.load(std::memory_order_seq_cst) == 0 || inbox_size_.load(std::memory_order_seq_cst) != 0)
        timeout = 0;
    poll_backend(timeout);
    sleeping_.store(false, std::memory_order_relaxed);  // relaxed: only spares wakers a notify
    drain_inbox();
    fire_timers();
}

void reactor::wake() noexcept {
    // seq_cst: the waker's side of INV-WAKE.
    if (sleeping_.exchange(false, std::memory_order_seq_cst)) notify();
}

void reactor::shutdown() {
    closing_ = true;
    {
        std::lock_guard lock(inbox_mutex_);
        inbox_.clear();
        inbox_size_.store(0, std::memory_order_relaxed);  // relaxed: under the lock
    }
    shutdown_backend();
    wheel_.unlink_all();
}

reactor& current_reactor(const char* what) {
    worker_context* w = tls_worker;
    if (w == nullptr)
        throw usage_error(std::string(what) + " called outside a weft worker: await it from a weft task");
    return static_cast<worker*>(w)->io();
}

}  // namespace weft::detail
