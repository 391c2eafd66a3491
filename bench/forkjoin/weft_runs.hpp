// One run of each fork-join problem on weft, for the three drivers (weft-forkjoin,
// weft-compare, bench_forkjoin). The coroutines are compiled once, in
// weft_runs.cpp, and linked into all three, so every driver times the same
// machine code.
//
// Why a translation unit of its own: GCC 12 decides per translation unit whether
// to inline a coroutine's ramp (the frame set-up a call like fib(n - 1) runs)
// into the coroutine body. Compiled into weft-compare's translation unit, next to
// the oneTBB code and the std::function tables, the same fib took 136 ms for fib
// 32 at 1 worker, against 104 ms in weft-forkjoin's (callgrind: 225.5 against
// 208.5 instructions per call; the ramp was called, not inlined). With the
// problems here, every driver gets the second.
#pragma once

#include "problems.hpp"

#include <cstdint>

namespace forkjoin::weft_run {

std::uint64_t fib(weft::runtime& rt, int n);
std::uint64_t skynet(weft::runtime& rt, int depth);
std::uint64_t nqueens(weft::runtime& rt, int n);
// Adds m.a * m.b onto m.c (callers clear m.c first when they check it).
void matmul(weft::runtime& rt, matrices& m);

}  // namespace forkjoin::weft_run
