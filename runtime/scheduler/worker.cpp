// The worker loop (model: Tokio's multi_thread/worker.rs): run local work, poll the
// injector and the reactor every `global_queue_interval` ticks for fairness, poll
// the reactor and steal when out of work, park in the reactor when stealing finds
// nothing. Parking invariants: park.cpp; the reactor's wake protocol: reactor.cpp.
#include "worker.hpp"

#include "scheduler.hpp"

#include <weft/detail/spin_lock.hpp>
#include <weft/detail/transfer.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

namespace weft::detail {

namespace {

std::int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace


worker::worker(scheduler& s, unsigned index, std::unique_ptr<reactor> io)
    : worker_context(s, s.id(), index, s.settings().local_queue_capacity, s.deque_sharing(),
                     s.idle_state().state(), s.worker_count()),
      io_(std::move(io)),
      rng_(0x9e3779b9u * (index + 1)) {}

void worker::attach_reactor() { io_->attach_to_thread(); }

void worker::run() {
    tls_worker = this;
    while (!sched().stopping()) {
        std::uintptr_t item = next_task();
        // Out of work: look at the reactor before stealing, for locality. Alone,
        // park() polls it anyway: a non-blocking poll first was one extra, mostly
        // empty epoll_wait per batch (weft-echo-bench, 1 worker: 6279 calls for
        // 18312 requests, against 3824 for 17468 in the plain epoll loop).
        if (item == 0 && num_workers_ > 1) item = poll_reactor();
        if (item == 0) item = search();
        if (item != 0) {
            run_item(item);
            continue;
        }
        park();
    }
    io_->shutdown();
    tls_worker = nullptr;
}

std::uintptr_t worker::next_task() {
    // Fairness: every `global_queue_interval` ticks the reactor and the injector
    // go first, so a worker busy with its own fork-join tree cannot starve timers,
    // I/O completions, outside submissions or yielded tasks. Woken tasks land in
    // the LIFO slot, which next_local() takes first.
    if (++ticks_ % sched().settings().global_queue_interval == 0) {
        if (io_->has_pending()) io_->poll_now();
        // Not twice in a row: with an interval of 1, a task that keeps coming
        // back through the injector (a yield() loop) would be all that ever
        // ran, and the task a timer just woke into the LIFO slot would wait
        // forever. So the own queue gets at least every other turn.
        if (!injector_went_first_) {
            if (std::uintptr_t item = sched().inject_queue().pop()) {
                injector_went_first_ = true;
                return item;
            }
        }
    }
    injector_went_first_ = false;
    if (std::uintptr_t item = next_local()) return item;
    return sched().inject_queue().pop();
}

std::uintptr_t worker::next_local() noexcept {
    if (lifo_slot_ != 0) {
        // Two tasks that keep waking each other (a mutex hand-off, a channel
        // exchange) would hold the slot forever and starve the deque; every
        // k_lifo_streak-th turn the deque goes first, as Tokio caps LIFO polls.
        if (++lifo_streak_ < k_lifo_streak) return std::exchange(lifo_slot_, 0);
        lifo_streak_ = 0;
        if (std::uintptr_t item = queue_.pop()) return item;
        return std::exchange(lifo_slot_, 0);
    }
    lifo_streak_ = 0;
    return queue_.pop();
}

std::uintptr_t worker::poll_reactor() {
    if (!io_->has_pending()) return 0;
    io_->poll_now();
    return next_local();
}

std::uintptr_t worker::search() {
    if (!searching_) searching_ = sched().idle_state().transition_to_searching();
    if (!searching_) return 0;  // INV-3: enough workers search already
    // Alone, there is nobody to steal from: one look at the injector, then park
    // (which polls the reactor). Spinning here cost a 1-worker echo server 1.2% of
    // its CPU (perf, weft-echo-bench).
    const unsigned rounds = num_workers_ > 1 ? sched().settings().spin_rounds + 1 : 1;
    for (unsigned round = 0; round < rounds; ++round) {
        std::uintptr_t item = steal_from_siblings();
        if (item == 0) item = sched().inject_queue().pop();
        if (item != 0) return item;
        if (sched().stopping()) return 0;
        cpu_relax();
    }
    return 0;
}

std::uintptr_t worker::steal_from_siblings() {
    const unsigned n = num_workers_;
    if (n < 2) return 0;
    const unsigned start = next_random() % n;
    for (unsigned i = 0; i < n; ++i) {
        const unsigned victim = (start + i) % n;
        if (victim == index_) continue;
        if (std::uintptr_t item = sched().worker_at(victim).queue_.steal()) return item;
    }
    return 0;
}

void worker::end_search() {
    searching_ = false;
    // The last searcher to find work wakes another worker to keep searching:
    // where it found one item there may be more.
    if (sched().idle_state().transition_from_searching()) sched().notify_parked();
}

void worker::park() {
    idle& state = sched().idle_state();
    const bool was_last_searcher = state.transition_to_parked(index_, searching_);
    searching_ = false;
    // INV-1: the last searcher re-checks every queue after registering as parked.
    if (was_last_searcher && sched().has_visible_work()) sched().notify_parked();
    // INV-4: and once more after a short sleep, for an item a busy sibling pushed
    // just as we parked (its relaxed check may have missed us). Not after a
    // spurious early return: the look must come once the time has passed.
    std::int64_t recheck_at = -1;  // steady_clock ns; -1: none due
    if (was_last_searcher && num_workers_ > 1) recheck_at = steady_ns() + k_recheck_after_ns;
    const std::atomic<std::uint32_t>& word = state.parked_word(index_);
    for (;;) {
        // acquire: pairs with the unparker's store; we see what it did before.
        if (word.load(std::memory_order_acquire) == 0) {
            // Whoever unparked us counted us as searching (idle::worker_to_notify);
            // shutdown unparks without counting, but then the state no longer matters.
            searching_ = true;
            return;
        }
        in_reactor_park_ = true;
        io_->park(word, recheck_at < 0 ? -1 : std::max<std::int64_t>(0, recheck_at - steady_ns()));
        in_reactor_park_ = false;
        // Timers or I/O made tasks runnable here (INV-2 holds again once we are
        // unparked: we run them ourselves).
        if (lifo_slot_ != 0 || !queue_.looks_empty()) {
            searching_ = !state.cancel_park(index_);
            // More than the LIFO slot's one: a sibling may steal the rest. One
            // notify for the whole batch, now that we are no longer a sleeper it
            // could pick (measured: 0.44 wasted eventfd writes per request on a
            // 1-worker io_uring echo server when each completion notified).
            if (!queue_.looks_empty()) notify_local_work(*this);
            return;
        }
        if (recheck_at >= 0 && steady_ns() >= recheck_at) {
            recheck_at = -1;
            if (sched().has_visible_work()) sched().notify_parked();
        }
    }
}

void worker::run_item(std::uintptr_t item) {
    if (searching_) end_search();
    // Resumes the item, then whatever code built without tail calls parked for
    // us (detail/transfer.hpp); with tail calls the loop runs once.
    for (std::coroutine_handle<> h = item_handle(item); h; h = take_trampolined()) h.resume();
}

void worker::schedule_woken(std::coroutine_handle<> h) {
    if (lifo_slot_ != 0) {
        push_local(*this, lifo_slot_);
        // Inside park() we are still a sleeper: park() notifies once it is not.
        if (!in_reactor_park_) notify_local_work(*this);
    }
    lifo_slot_ = as_item(h);
}

void worker::clear_queues_unsynchronized() noexcept {
    lifo_slot_ = 0;
    queue_.clear_unsynchronized();
}

unsigned worker::next_random() noexcept {
    // xorshift32: victim choice only needs to be cheap and spread out.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    return rng_;
}

}  // namespace weft::detail
