// Destroying suspended frames without overflowing the machine stack.
//
// Destroying a frame suspended at `co_await child()` destroys the child's task,
// so the child's frame is destroyed inside the parent's destroy(): one machine
// stack level (about 40-80 bytes) per await in a suspended chain. Awaiting and
// unwinding never grow the stack (symmetric transfer), so a task may be a million
// awaits deep when the runtime shuts down, and an 8 MiB thread stack overflows
// near 150,000. Destruction order must stay the language's (a child ends before
// the parent's earlier locals, which it may reference), so it cannot be made
// iterative; instead it runs on a thread whose stack is big enough.
#pragma once

#include <coroutine>

namespace weft::detail {

// Runs fn(arg) on a thread with a 1 GiB stack (address space only: the kernel
// commits the pages a destroy touches) and joins it: chains of about ten million
// awaits. If that thread cannot be created, runs it on the calling thread.
void run_on_deep_stack(void (*fn)(void*), void* arg) noexcept;

// Destroys `frame`: at once when it has finished (it owns no suspended child),
// else through run_on_deep_stack.
void destroy_frame_deep(std::coroutine_handle<> frame) noexcept;

}  // namespace weft::detail
