// weft::config: the runtime's tuning knobs, their defaults, and how they are read
// from WEFT_* environment variables and checked. docs/config.md lists every knob.
#pragma once

#include <weft/detail/export.hpp>

#if __has_include(<weft/detail/build_config.hpp>)
#include <weft/detail/build_config.hpp>
#endif

#include <cstddef>
#include <string>

namespace weft {

namespace detail {

// std::thread::hardware_concurrency() clamped to 1..1024: it may report 0 when the
// count is unknown, and the default must pass validate() on any machine.
WEFT_API unsigned default_workers() noexcept;

// The `small_queues` build option sets this to 4 so the whole test suite runs
// through the run queue's overflow and wrap-around paths.
#ifdef WEFT_DEFAULT_LOCAL_QUEUE_CAPACITY
inline constexpr std::size_t k_default_local_queue_capacity = WEFT_DEFAULT_LOCAL_QUEUE_CAPACITY;
#else
inline constexpr std::size_t k_default_local_queue_capacity = 256;
#endif

}  // namespace detail

// An aggregate, so callers name only what they change:
//     weft::runtime rt{weft::config{.workers = 2}};
// Fields must stay in this order: designated initializers follow it.
struct WEFT_API config {
    // Worker threads. Env WEFT_WORKERS, 1..1024.
    unsigned workers = detail::default_workers();

    // Which reactor drives I/O: "auto" (io_uring if the kernel allows it, else
    // epoll), "io_uring" or "epoll". Env WEFT_IO_BACKEND.
    std::string io_backend = "auto";

    // Slots in each worker's local deque; work beyond it spills to the global
    // injection queue. Env WEFT_LOCAL_QUEUE_CAPACITY, a power of two in 2..1048576.
    std::size_t local_queue_capacity = detail::k_default_local_queue_capacity;

    // A worker checks the global injection queue after this many tasks from its
    // local queue, so injected tasks are not starved by a busy local queue.
    // Env WEFT_GLOBAL_QUEUE_INTERVAL, 1..1000000.
    unsigned global_queue_interval = 61;

    // Rounds of steal attempts an idle worker makes before it parks.
    // Env WEFT_SPIN_ROUNDS, 0..1000000.
    unsigned spin_rounds = 32;

    // Pin each worker thread to its own CPU. Env WEFT_PIN_WORKERS:
    // 1/0, true/false, yes/no, on/off, any case.
    bool pin_workers = false;

    // Worker threads are named "<thread_name>-<index>". Env WEFT_THREAD_NAME,
    // 1..10 characters: Linux keeps at most 15, and "-1023" takes 5 of them.
    std::string thread_name = "weft-wkr";

    // Submission-queue entries of each worker's io_uring ring (the completion
    // queue is twice that). Env WEFT_IO_RING_ENTRIES, a power of two in 8..32768.
    unsigned io_ring_entries = 256;

    // Most completions (io_uring) or readiness events (epoll) a worker takes from
    // its reactor in one poll. Env WEFT_IO_EVENT_BATCH, 1..65536.
    unsigned io_event_batch = 256;

    // Threads that run blocking file I/O for the epoll backend (regular files do
    // not poll); io_uring does not use them. Env WEFT_BLOCKING_THREADS, 1..1024.
    unsigned blocking_threads = 2;

    // How a worker's deque settles the race between its owner's pop and a
    // thief's steal when the runtime has more than one worker: "auto"
    // (membarrier where the kernel allows it, else seq_cst), "membarrier" (the
    // owner's pop pays no fence and each steal makes a membarrier system call;
    // a runtime that cannot have it throws config_error) or "seq_cst" (every
    // pop pays a full fence, steals pay nothing extra). Env WEFT_STEAL_FENCE.
    std::string steal_fence = "auto";

    // The defaults, overridden by every WEFT_* variable above that is set, then
    // validate()d. Throws config_error naming the variable and its raw value, e.g.
    // WEFT_WORKERS="lots": expected an integer in 1..1024. Other WEFT_* variables
    // are ignored.
    static config from_env();

    // Throws config_error naming the first bad field as written in C++, e.g.
    // workers="0": expected an integer in 1..1024.
    void validate() const;
};

}  // namespace weft
