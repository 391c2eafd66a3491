// Scheduler start-up and shutdown, submission from outside, and the registry of
// detached tasks that shutdown destroys.
#include "scheduler.hpp"

#include "deep_destroy.hpp"

#include <weft/errors.hpp>
#include <weft/spawn.hpp>
#include <weft/yield.hpp>

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <latch>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace weft::detail {

thread_local constinit worker_context* tls_worker __attribute__((tls_model("initial-exec"))) = nullptr;
thread_local constinit void* tls_trampoline_next __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {

// Live runtimes by id, each with its scheduler and its detached tasks that have
// not finished. A runtime id missing here means the runtime is gone: its entry
// leaves at the end of its shutdown, before the scheduler is freed. One lock for
// all runtimes: it is taken when a handle is dropped before its task finishes,
// when such a task finishes, and when a thread outside a runtime resumes one of
// its tasks (scheduler::hold_live).
struct live_runtime {
    scheduler* sched;
    std::unordered_set<void*> detached;
};

struct detached_registry {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, live_runtime> runtimes;
    std::uint64_t next_id = 1;
};

detached_registry& registry() {
    static detached_registry* r = new detached_registry;  // outlives every runtime
    return *r;
}

std::uint64_t register_runtime(scheduler& s) {
    detached_registry& r = registry();
    std::lock_guard lock(r.mutex);
    const std::uint64_t id = r.next_id++;
    r.runtimes.emplace(id, live_runtime{&s, {}});
    return id;
}

// The runtime whose suspended tasks this thread is destroying (its shutdown's
// destroy loop), or 0.
thread_local std::uint64_t tls_destroying_runtime = 0;

}  // namespace

void detach_task(std::uint64_t runtime_id, std::coroutine_handle<> frame,
                 std::atomic<std::uintptr_t>& state) noexcept {
    if (tls_destroying_runtime == runtime_id) {
        // A join_handle dropped while shutdown destroys the frame that holds it:
        // destroy its task now, in the order the language destroys that frame's
        // locals, not later from the registry. A task spawned by a parent that owns
        // a mutex or a listener may hold or use it (a guard, a pending accept); its
        // frame must go before the parent's locals do. Every worker has stopped,
        // so the task is suspended and nothing else can touch it.
        frame.destroy();
        return;
    }
    bool free_now = false;
    {
        detached_registry& r = registry();
        std::lock_guard lock(r.mutex);
        auto it = r.runtimes.find(runtime_id);
        if (it == r.runtimes.end()) {
            free_now = true;  // its runtime is gone: it can never run again
        } else {
            // Registered before the exchange, so a task finishing right after it
            // finds itself in the registry. Under the lock, so shutdown's
            // destroy_detached_tasks() cannot free the frame in between.
            try {
                it->second.detached.insert(frame.address());
            } catch (...) {
                std::fputs("weft: out of memory registering a detached task\n", stderr);
                std::abort();  // a frame nobody owns would be lost or freed twice
            }
            // acq_rel: release hands the frame to the task; acquire sees its
            // result if it finished meanwhile, before we free it.
            if (state.exchange(k_detached, std::memory_order_acq_rel) == k_done) {
                it->second.detached.erase(frame.address());
                free_now = true;
            }
        }
    }
    if (free_now) destroy_frame_deep(frame);  // unfinished if its runtime is gone
}

void finish_detached(std::uint64_t runtime_id, std::coroutine_handle<> frame) noexcept {
    {
        detached_registry& r = registry();
        std::lock_guard lock(r.mutex);
        auto it = r.runtimes.find(runtime_id);
        if (it != r.runtimes.end()) it->second.detached.erase(frame.address());
    }
    frame.destroy();
}

void push_overflow(worker_context& w, std::uintptr_t item) {
    // The deque is full: move its older half to the injector in one batch (one
    // lock), so thieves and the fairness poll can reach it, then push.
    std::uintptr_t batch[512];
    std::vector<std::uintptr_t> big;
    std::uintptr_t* out = batch;
    const std::size_t half = w.queue_.capacity() / 2;
    if (half > std::size(batch)) {
        big.resize(half);
        out = big.data();
    }
    const std::size_t n = w.queue_.take_oldest_half(out);
    if (n != 0) w.scheduler_->inject_queue().push_batch(out, n);
    if (!w.queue_.push(item)) w.scheduler_->inject_queue().push(item);
    w.scheduler_->notify_parked();
}

void wake_sibling(worker_context& w) { w.scheduler_->notify_parked(); }

void schedule_woken(worker_context& w, std::coroutine_handle<> h) {
    static_cast<worker&>(w).schedule_woken(h);
}

void schedule_yielded(worker_context& w, std::coroutine_handle<> h) {
    w.scheduler_->inject_queue().push(as_item(h));
    w.scheduler_->notify_parked();
}

namespace {

// config::steal_fence for a runtime's deques. One worker: nobody steals.
run_queue::sharing choose_sharing(const config& cfg) {
    if (cfg.workers == 1) return run_queue::sharing::owner_only;
    if (cfg.steal_fence == "seq_cst") return run_queue::sharing::stealable_fenced;
    if (cfg.steal_fence == "membarrier" && !asymmetric_fence_available())
        throw config_error("steal_fence", cfg.steal_fence,
                           "needs a kernel that allows membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) "
                           "(Linux 4.14 or later, not refused by seccomp); \"auto\" falls back to seq_cst");
    return run_queue::sharing::stealable;  // membarrier where available (run_queue.hpp)
}

}  // namespace

scheduler::scheduler(const config& cfg)
    : cfg_(cfg),
      id_(register_runtime(*this)),
      backend_(reactor::choose(cfg)),
      sharing_(choose_sharing(cfg)),
      idle_(cfg.workers),
      blocking_(cfg.blocking_threads, cfg.thread_name) {
    try {
        workers_.reserve(cfg_.workers);
        for (unsigned i = 0; i < cfg_.workers; ++i)
            workers_.push_back(std::make_unique<worker>(*this, i, reactor::create(backend_, cfg_, id_)));
        start_threads();
    } catch (...) {
        stop_threads();
        throw;  // registration_ leaves the registry
    }
}

scheduler::registration::~registration() {
    std::lock_guard lock(registry().mutex);
    registry().runtimes.erase(id);
}

void scheduler::start_threads() {
    threads_.reserve(cfg_.workers);
    // Pin to the CPUs this process may use (taskset, cgroups), in order.
    std::vector<int> cpus;
    if (cfg_.pin_workers) {
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
            throw io_error(errno, "sched_getaffinity(pin_workers)");
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
    }
    // Each worker binds its reactor to its own thread first (an io_uring ring has
    // a single issuer); the constructor reports the first failure. Every thread
    // counts down once, and the wait below comes before `errors` and `attached`
    // go out of scope, whatever fails.
    std::vector<std::exception_ptr> errors(cfg_.workers);
    std::latch attached(cfg_.workers);
    unsigned started = 0;
    std::exception_ptr setup_error;
    try {
        for (unsigned i = 0; i < cfg_.workers; ++i) {
            threads_.emplace_back([this, i, &errors, &attached] {
                block_sigpipe_here();  // a ring write to a closed pipe runs on this thread
                try {
                    workers_[i]->attach_reactor();
                } catch (...) {
                    errors[i] = std::current_exception();
                }
                const bool ok = !errors[i];
                attached.count_down();  // `errors` and `attached` may be gone after this
                if (ok) workers_[i]->run();
            });
            ++started;
            const std::string name = cfg_.thread_name + "-" + std::to_string(i);
            pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
            if (cfg_.pin_workers && !cpus.empty()) {
                const int cpu = cpus[i % cpus.size()];
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(cpu, &set);
                if (const int err = pthread_setaffinity_np(threads_.back().native_handle(), sizeof set, &set))
                    throw io_error(err, "pthread_setaffinity_np(worker " + std::to_string(i) + ", cpu " +
                                            std::to_string(cpu) + ")");
            }
        }
    } catch (...) {
        setup_error = std::current_exception();
    }
    attached.count_down(cfg_.workers - started);  // threads that never started
    attached.wait();
    if (setup_error) std::rethrow_exception(setup_error);
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

void scheduler::stop_threads() noexcept {
    // seq_cst: ordered with an outside submit()'s count increment (see there);
    // also releases to stopping()'s acquire.
    stopping_.store(true, std::memory_order_seq_cst);
    idle_.unpark_all();
    for (auto& w : workers_) w->io().wake();
    for (std::thread& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
    // seq_cst: after our seq_cst store of stopping_, either this load sees an
    // outside submit() counted, or that submit() sees stopping_ and backs out.
    // Also acquires leave's release. A wait of a few instructions.
    while (outside_submits_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
}

scheduler::~scheduler() {
    stop_threads();
    // Blocking jobs write into suspended frames: they finish before any frame goes.
    blocking_.stop();
    // Every worker has stopped: the queues hold items whose frames are owned by
    // their parents, by join handles, or by the detached registry. Forget the
    // items and destroy what the runtime owns; owners destroy the rest.
    for (auto& w : workers_) w->clear_queues_unsynchronized();
    injector_.clear();
    destroy_detached_tasks();
}

void scheduler::destroy_detached_tasks() noexcept {
    detached_registry& r = registry();
    {
        std::lock_guard lock(r.mutex);
        auto it = r.runtimes.find(id_);
        if (it == r.runtimes.end()) return;
        if (it->second.detached.empty()) {
            r.runtimes.erase(it);  // from now on, dropped handles free their own frames
            return;
        }
    }
    // Suspended tasks: destroying one destroys its whole chain of awaits, one
    // machine-stack level each (deep_destroy.hpp).
    run_on_deep_stack([](void* self) { static_cast<scheduler*>(self)->destroy_registered_frames(); }, this);
}

void scheduler::destroy_registered_frames() noexcept {
    detached_registry& r = registry();
    tls_destroying_runtime = id_;
    for (;;) {
        void* frame = nullptr;
        {
            std::lock_guard lock(r.mutex);
            // Ours until the erase below: only this loop removes it now.
            auto& mine = r.runtimes.find(id_)->second.detached;
            if (mine.empty()) {
                r.runtimes.erase(id_);  // from now on, dropped handles free their own frames
                tls_destroying_runtime = 0;
                return;
            }
            frame = *mine.begin();
            mine.erase(mine.begin());
        }
        // Destroying a frame destroys what it owns, its join handles' tasks
        // included (detach_task, on this thread), each where the frame's locals
        // are destroyed. Handles dropped on other threads meanwhile still land in
        // the registry, and the loop picks them up.
        std::coroutine_handle<>::from_address(frame).destroy();
    }
}

void scheduler::submit(std::uintptr_t item) {
    worker_context* w = tls_worker;
    if (w != nullptr && w->scheduler_ == this) {
        if (stopping()) throw usage_error("weft::runtime: task submitted while the runtime is shutting down");
        push_local(*w, item);
        notify_local_work(*w);
        return;
    }
    // Counted as an outside submitter while we push and notify, so that the
    // destructor waits for us (hold_for_wake).
    if (!hold_for_wake()) throw usage_error("weft::runtime: task submitted while the runtime is shutting down");
    struct leave {
        scheduler& s;
        ~leave() { s.release_hold(); }
    } counted{*this};
    injector_.push(item);
    notify_parked();
}

bool scheduler::hold_for_wake() noexcept {
    // seq_cst, before the stopping_ load: either the destructor's wait (after
    // its seq_cst store of stopping_) sees us counted, or we see stopping_ set.
    outside_submits_.fetch_add(1, std::memory_order_seq_cst);
    if (!stopping_.load(std::memory_order_seq_cst)) return true;
    release_hold();
    return false;
}

scheduler* scheduler::hold_live(std::uint64_t id) noexcept {
    detached_registry& r = registry();
    std::lock_guard lock(r.mutex);
    // The entry leaves only at the end of the runtime's shutdown, after
    // stop_threads() set stopping_: while we hold the lock and see it, the
    // scheduler is not freed, and hold_for_wake() either counts us before the
    // destructor's wait for outside submitters, or fails.
    auto it = r.runtimes.find(id);
    if (it == r.runtimes.end()) return nullptr;
    scheduler* s = it->second.sched;
    return s->hold_for_wake() ? s : nullptr;
}

scheduler* reach_runtime(std::uint64_t runtime_id, bool& held) noexcept {
    const worker_context* self = tls_worker;
    if (self != nullptr && self->runtime_id_ == runtime_id) [[likely]] {
        held = false;
        return self->scheduler_;
    }
    scheduler* s = scheduler::hold_live(runtime_id);
    held = s != nullptr;
    return s;
}

void resume_task_of(std::uint64_t runtime_id, std::coroutine_handle<> h) noexcept {
    bool held = false;
    if (scheduler* s = reach_runtime(runtime_id, held)) s->resume_reached(h, held);
}

void cancel_spawned(std::uint64_t runtime_id, cancel_scope& root) noexcept {
    // Held, the runtime's destructor waits for us before it frees the wheels
    // and reactors that the cancellation reaches.
    bool held = false;
    scheduler* reached = reach_runtime(runtime_id, held);
    if (reached == nullptr) return;
    root.cancel();
    if (held) reached->release_hold();
}

void scheduler::resume_held(std::coroutine_handle<> h) noexcept {
    try {
        injector_.push(as_item(h));
    } catch (...) {
        std::fputs("weft: out of memory resuming a task\n", stderr);
        std::abort();
    }
    notify_parked();
    release_hold();
}

void scheduler::release_hold() noexcept {
    // release: our pushes and notifications happen before the destructor's
    // acquire load sees the count drop (it then clears the injector: a push
    // after the workers stopped is forgotten, and the frame's owner destroys it).
    outside_submits_.fetch_sub(1, std::memory_order_release);
}

void scheduler::notify_parked() {
    unsigned w = 0;
    if (idle_.worker_to_notify(w)) workers_[w]->io().wake();
}

void scheduler::resume_anywhere(std::coroutine_handle<> h) noexcept {
    if (stopping()) return;
    try {
        submit(as_item(h));
    } catch (...) {
        // Out of memory growing the injector, or shutdown began after the check:
        // either way the frame stays suspended and its owner destroys it.
        if (!stopping()) {
            std::fputs("weft: out of memory resuming a task\n", stderr);
            std::abort();
        }
    }
}

bool scheduler::has_visible_work() noexcept {
    if (!injector_.looks_empty()) return true;
    for (auto& w : workers_)
        if (w->has_visible_work()) return true;
    return false;
}

}  // namespace weft::detail
