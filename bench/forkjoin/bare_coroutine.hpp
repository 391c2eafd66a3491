// A floor for fib's cost per task: the same recursion as a chain of the cheapest
// lazy coroutine that C++20 allows, run on the calling thread with no scheduler.
// Its task type holds a continuation and a result, allocates frames from a
// thread-local free list, and starts each child by symmetric transfer; fib awaits
// its two children one after the other, so nothing is forked, queued, stolen or
// joined. What weft spends per task above this is what the runtime costs; what
// this costs is what the compiler's coroutine code costs. weft-compare prints
// both beside oneTBB's cost per task.
#pragma once

#include <cstdint>

namespace forkjoin::bare {

// fib(n) by bare coroutines; compiled in bare_coroutine.cpp, like weft_runs.cpp
// compiles the weft side, so every driver times the same machine code.
std::uint64_t fib(int n);

}  // namespace forkjoin::bare
