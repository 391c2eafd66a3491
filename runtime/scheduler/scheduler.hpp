// The scheduler behind weft::runtime: the workers and their threads, the injector,
// the idle state, and shutdown (stop intake, join workers, destroy the frames the
// runtime owns).
#pragma once

#include "../reactor/blocking_pool.hpp"
#include "injector.hpp"
#include "park.hpp"
#include "worker.hpp"

#include <weft/config.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace weft::detail {

class scheduler {
public:
    explicit scheduler(const config& cfg);
    ~scheduler();

    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    std::uint64_t id() const noexcept { return id_; }
    const config& settings() const noexcept { return cfg_; }
    unsigned worker_count() const noexcept { return cfg_.workers; }
    worker& worker_at(unsigned i) noexcept { return *workers_[i]; }
    injector& inject_queue() noexcept { return injector_; }
    idle& idle_state() noexcept { return idle_; }
    io_backend_kind io_backend() const noexcept { return backend_; }
    // How the workers' deques settle a pop against a steal (config::steal_fence).
    run_queue::sharing deque_sharing() const noexcept { return sharing_; }
    blocking_pool& blocking() noexcept { return blocking_; }

    bool stopping() const noexcept {
        // acquire: pairs with the release in the destructor; workers then see
        // everything the stopping thread did before.
        return stopping_.load(std::memory_order_acquire);
    }

    // From any thread: on one of our workers, onto its deque; otherwise into the
    // injector, waking a parked worker if needed (INV-1).
    void submit(std::uintptr_t item);
    // For wakers that are not on the task's worker but surely run while the
    // runtime lives (another of its workers, the blocking pool, which stops
    // before any frame goes; any other thread uses resume_task_of()): like
    // submit(), but during shutdown it leaves the task suspended for its owner
    // to destroy.
    void resume_anywhere(std::coroutine_handle<> h) noexcept;
    // Counts the calling thread, which is not one of our workers, as an outside
    // submitter until release_hold() (or resume_held()), so that the destructor
    // waits for it before destroying frames. submit() holds while it pushes; a
    // sync primitive's waker holds under the primitive's guard for a waiter it
    // just unqueued. False, counting nothing, once the runtime is stopping: the
    // waiter is left to its shutdown.
    bool hold_for_wake() noexcept;
    // The scheduler of runtime `id`, held as by hold_for_wake(); null when that
    // runtime is stopping or gone. For a thread that is not one of its workers
    // and knows it only from what a suspended task recorded: a join_handle may
    // keep the task suspended past its runtime.
    static scheduler* hold_live(std::uint64_t id) noexcept;
    // Resumes a waiter held by hold_for_wake() (through the injector), then
    // stops counting the waker.
    void resume_held(std::coroutine_handle<> h) noexcept;
    // Resumes `h` on a scheduler reach_runtime() gave: resume_held() if `held`,
    // else resume_anywhere() (the caller is one of our workers).
    void resume_reached(std::coroutine_handle<> h, bool held) noexcept {
        if (held)
            resume_held(h);
        else
            resume_anywhere(h);
    }
    // Stops counting a holder (submit() done, or a hand-off that failed).
    void release_hold() noexcept;
    // Wakes a parked worker if no worker is searching.
    void notify_parked();
    // Any queue non-empty: INV-1's re-check (the injector read is seq_cst; the
    // deques only matter for parallelism, INV-2).
    bool has_visible_work() noexcept;

private:
    void start_threads();
    void stop_threads() noexcept;
    void destroy_detached_tasks() noexcept;
    void destroy_registered_frames() noexcept;

    // Takes the runtime out of the registry of live runtimes when a later
    // member's constructor throws, or at the end of destruction (shutdown has
    // taken it out already then; a second removal does nothing).
    struct registration {
        std::uint64_t id;
        ~registration();
    };

    const config cfg_;
    const std::uint64_t id_;
    const registration registration_{id_};
    const io_backend_kind backend_;
    const run_queue::sharing sharing_;
    idle idle_;
    injector injector_;
    std::vector<std::unique_ptr<worker>> workers_;
    blocking_pool blocking_;
    std::vector<std::thread> threads_;
    // Written once by the destructor; read by every worker each loop turn.
    std::atomic<bool> stopping_{false};
    // Submissions from threads that are not workers still inside submit(), and
    // outside wakers between hold_for_wake() and resume_held(). A thread outside
    // the runtime (an event::set() from a signal thread, say) may resume the task
    // whose end lets block_on return and the runtime be destroyed while it is
    // still notifying a worker, or waking the event's other waiters: the
    // destructor waits for it to leave.
    std::atomic<unsigned> outside_submits_{0};
};

// Runtime `runtime_id`'s scheduler, as this thread may use it: on one of its
// workers, that worker's scheduler (alive until the worker returns; held stays
// false); on any other thread, held through scheduler::hold_live() (held set:
// let go with release_hold() or resume_held()). Null when that runtime is
// stopping or gone.
scheduler* reach_runtime(std::uint64_t runtime_id, bool& held) noexcept;

// Resumes `h`, a task that suspended on a worker of runtime `runtime_id`, from
// any thread: a canceller, or a socket's closer (reach_runtime). A task whose
// runtime is stopping or gone stays suspended, for its owner (the shutdown, or a
// join_handle kept past the runtime) to destroy.
void resume_task_of(std::uint64_t runtime_id, std::coroutine_handle<> h) noexcept;

}  // namespace weft::detail
