// An asymmetric fence: a free "light" side for the thread that runs a path
// often (a deque owner's pop) and an expensive "heavy" side for the thread that
// runs the other path rarely (a thief's steal). The heavy side is Linux's
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): when it returns, every thread of
// the process that was running has executed a full memory barrier at some point
// during the call, and a thread that was not running passed one when it was
// switched out. So a light side that only stops the compiler from reordering
// (std::atomic_signal_fence) acts, against that heavy side, as the seq_cst fence
// it would otherwise need (an `xchg` or `mfence` on every pop).
//
// The pairing the deque relies on (run_queue.hpp, "Asymmetric mode"): the light
// thread writes A then reads B; the heavy thread reads B, runs the heavy fence,
// then reads A. Either the light thread's barrier point falls after its write of
// A (the heavy thread's later read sees A), or before it, and then the light
// thread's read of B comes after the heavy thread's read of B in real time and
// sees that value or a later one.
#pragma once

#include <weft/detail/export.hpp>

namespace weft::detail {

// Whether the heavy side works in this process. The first call registers the
// process for expedited membarrier (Linux 4.14 and later); false when the
// kernel lacks it or a seccomp filter refuses the call. Thread-safe; cached.
WEFT_API bool asymmetric_fence_available() noexcept;

// The heavy side. Returns false if the call failed (it does not once
// asymmetric_fence_available() returned true); the caller then acts as if it had
// lost its race, which is always safe.
WEFT_API bool heavy_fence() noexcept;

}  // namespace weft::detail
