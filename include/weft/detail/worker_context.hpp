// The part of a worker that inline code in headers touches: its run queue and the
// cheap "should a sleeping sibling be woken?" check. The worker loop itself lives
// in runtime/scheduler/worker.cpp.
#pragma once

#include <weft/detail/always_inline.hpp>
#include <weft/detail/export.hpp>
#include <weft/detail/run_queue.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace weft::detail {

class scheduler;

// Run-queue items are frame addresses. Bit 0 set marks a fork-join or spawn child
// that has not started yet: the joiner recognises it when it pops it back from
// its own deque and then runs it inline (fork_join.hpp). A tagged item is pushed
// exactly once, so finding it proves nobody else started that child.
inline constexpr std::uintptr_t k_fresh_child_tag = 1;

inline std::uintptr_t as_item(std::coroutine_handle<> h) noexcept {
    return reinterpret_cast<std::uintptr_t>(h.address());
}
inline std::uintptr_t as_fresh_child(std::coroutine_handle<> h) noexcept {
    return as_item(h) | k_fresh_child_tag;
}
inline std::coroutine_handle<> item_handle(std::uintptr_t item) noexcept {
    return std::coroutine_handle<>::from_address(
        reinterpret_cast<void*>(item & ~k_fresh_child_tag));
}

// The idle state word (runtime/scheduler/park.cpp owns its transitions): the
// number of searching workers in the low 32 bits, unparked workers in the high 32.
inline constexpr std::uint64_t k_searching_one = 1;
inline constexpr std::uint64_t k_unparked_one = std::uint64_t{1} << 32;
inline constexpr std::uint32_t searching_of(std::uint64_t s) noexcept {
    return static_cast<std::uint32_t>(s);
}
inline constexpr std::uint32_t unparked_of(std::uint64_t s) noexcept {
    return static_cast<std::uint32_t>(s >> 32);
}

struct worker_context {
    worker_context(scheduler& s, std::uint64_t runtime_id, unsigned index, std::size_t queue_capacity,
                   run_queue::sharing sharing, const std::atomic<std::uint64_t>& idle_state, unsigned num_workers)
        : queue_(queue_capacity, sharing),
          scheduler_(&s),
          runtime_id_(runtime_id),
          idle_state_(&idle_state),
          index_(index),
          num_workers_(num_workers) {}

    run_queue queue_;
    scheduler* const scheduler_;
    const std::uint64_t runtime_id_;
    const std::atomic<std::uint64_t>* const idle_state_;
    const unsigned index_;
    const unsigned num_workers_;
};

// The worker running on this thread, or null on a thread that is not a worker.
// initial-exec: see tls_frame_pool in frame_alloc.hpp.
WEFT_API extern thread_local constinit worker_context* tls_worker
    __attribute__((tls_model("initial-exec")));

// Out-of-line halves of push_local(): a full deque moves its older half to the
// injector; a parked sibling gets woken.
WEFT_API void push_overflow(worker_context& w, std::uintptr_t item);
WEFT_API void wake_sibling(worker_context& w);

// For wakers that run on a worker (timers, I/O completions, sync primitives): the
// woken task goes to this worker's LIFO slot and runs next, while its data is
// still in cache; the task it displaces moves to the deque.
WEFT_API void schedule_woken(worker_context& w, std::coroutine_handle<> h);

// Called after pushing local work: wake a parked sibling to steal it when every
// worker that is not parked is busy (none is searching).
//
// relaxed: this check decides parallelism, not liveness. INV-2 (park.cpp): a
// worker parks only with an empty deque and LIFO slot, so an item pushed here is
// run by this worker at the latest; a stale read can only delay a thief, by about
// a millisecond at most (INV-4: the last sibling to sleep looks again). Items
// that only another worker could run (injector pushes from outside) go through
// scheduler::notify_parked(), which orders its check with a seq_cst RMW.
WEFT_ALWAYS_INLINE void notify_local_work(worker_context& w) {
    const std::uint64_t s = w.idle_state_->load(std::memory_order_relaxed);
    if (searching_of(s) == 0 && unparked_of(s) < w.num_workers_) [[unlikely]]
        wake_sibling(w);
}

WEFT_ALWAYS_INLINE void push_local(worker_context& w, std::uintptr_t item) {
    if (!w.queue_.push(item)) [[unlikely]]
        push_overflow(w, item);
}

}  // namespace weft::detail
