// One worker thread: its local deque (from worker_context), its LIFO slot, and the
// run loop that takes work locally, from the injector, by stealing, or parks.
#pragma once

#include "../reactor/reactor.hpp"

#include <weft/detail/worker_context.hpp>

#include <coroutine>
#include <cstdint>
#include <memory>

namespace weft::detail {

class scheduler;

class worker : public worker_context {
public:
    worker(scheduler& s, unsigned index, std::unique_ptr<reactor> io);

    // Binds the reactor to this thread; then the run loop, which returns when the
    // scheduler stops, after the reactor has cancelled and reaped what was in flight.
    void attach_reactor();
    void run();

    // This worker's timers and I/O.
    reactor& io() noexcept { return *io_; }

    // A task woken by an event this worker handled runs next (cache-hot); the
    // task that held the slot moves to the deque. See detail::schedule_woken.
    void schedule_woken(std::coroutine_handle<> h);

    // Shutdown, after the thread has exited: forget queued items.
    void clear_queues_unsynchronized() noexcept;

    bool has_visible_work() const noexcept { return !queue_.looks_empty(); }

private:
    std::uintptr_t next_task();
    std::uintptr_t next_local() noexcept;
    std::uintptr_t poll_reactor();
    std::uintptr_t search();
    std::uintptr_t steal_from_siblings();
    void end_search();
    void park();
    void run_item(std::uintptr_t item);
    unsigned next_random() noexcept;

    scheduler& sched() const noexcept { return *scheduler_; }

    const std::unique_ptr<reactor> io_;

    // Owner-only state.
    std::uintptr_t lifo_slot_ = 0;
    // LIFO-slot turns in a row; see next_local().
    static constexpr std::uint32_t k_lifo_streak = 4;
    std::uint32_t lifo_streak_ = 0;
    std::uint32_t ticks_ = 0;
    // INV-4 (park.cpp): how long the last searcher sleeps before its second look
    // at its siblings' deques.
    static constexpr std::int64_t k_recheck_after_ns = 1'000'000;
    // The last turn's task came from the injector by the fairness rule; see
    // next_task().
    bool injector_went_first_ = false;
    std::uint32_t rng_;
    bool searching_ = false;
    // True while park() is inside the reactor: tasks it wakes then are ours to
    // run, so schedule_woken() must not count us as a sleeper to notify.
    bool in_reactor_park_ = false;
};

}  // namespace weft::detail
