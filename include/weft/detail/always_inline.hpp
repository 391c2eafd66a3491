// WEFT_ALWAYS_INLINE: for the small functions on the fork-join and await hot path
// (awaiters, fork, frame allocation, the deque's push and pop).
//
// GCC's inliner decides per translation unit. Measured: the same fib coroutine
// compiled at -O3 into weft-forkjoin inlined the fork, the awaiters and the frame
// pool (108 ms for fib 32 at 1 worker), and compiled into weft-compare, whose
// translation unit also holds oneTBB and std::function code, called them out of
// line (154 ms). Users' translation units vary just as much, so the hot path does
// not leave the decision to the heuristics. Throwing paths stay out of line
// (WEFT_COLD), so what is forced inline is a few loads, stores and branches.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define WEFT_ALWAYS_INLINE [[gnu::always_inline]] inline
// After a lambda's parameter list: `[](auto& x) WEFT_LAMBDA_INLINE { ... }`.
#define WEFT_LAMBDA_INLINE __attribute__((always_inline))
#define WEFT_COLD [[gnu::cold, gnu::noinline]]
// For a hot function's less common paths (not cold: they run, just not on every
// call), so that the hot path's own code stays small and needs no saved registers.
#define WEFT_NOINLINE [[gnu::noinline]]
#else
#define WEFT_ALWAYS_INLINE inline
#define WEFT_LAMBDA_INLINE
#define WEFT_COLD
#define WEFT_NOINLINE
#endif
