// Symmetric transfer, with a fallback for compilers that do not make it a tail
// call. Every await_suspend in weft that hands control to another coroutine
// returns transfer_to(next).
//
// GCC 12 turns `return handle;` from await_suspend into a tail call only with
// -foptimize-sibling-calls (on at -O2 and -Os), and never under -fsanitize=address
// or thread (measured: a 10,000-deep await chain moved the stack by 4 MB under
// ASAN). Without the tail call every transfer nests a call, and a long await chain
// or fork-join tree overflows the stack. So when GCC is not optimizing or is
// sanitizing, transfer_to() parks the next coroutine in a thread-local slot
// and returns the no-op coroutine: the current one unwinds to the worker loop,
// which resumes the parked coroutine (worker.cpp: run_item). The stack stays one
// frame deep at the cost of a trip through the loop per transfer.
// Override with -DWEFT_TRAMPOLINE=0 or 1. pkg-config and the CMake package add
// -foptimize-sibling-calls, which covers -O1 and -Og.
#pragma once

#include <weft/detail/always_inline.hpp>
#include <weft/detail/export.hpp>
#include <weft/detail/worker_context.hpp>

#include <coroutine>

#ifndef WEFT_TRAMPOLINE
#if defined(__GNUC__) && !defined(__clang__) && \
    (!defined(__OPTIMIZE__) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
#define WEFT_TRAMPOLINE 1
#else
#define WEFT_TRAMPOLINE 0
#endif
#endif

namespace weft::detail {

// The coroutine the worker loop resumes next, set by a trampolined transfer.
// Written and read only by the thread that owns it.
WEFT_API extern thread_local constinit void* tls_trampoline_next
    __attribute__((tls_model("initial-exec")));

WEFT_ALWAYS_INLINE std::coroutine_handle<> transfer_to(std::coroutine_handle<> next) noexcept {
#if WEFT_TRAMPOLINE
    // Only a worker thread has a loop to drain the slot.
    if (tls_worker != nullptr && next.address() != std::noop_coroutine().address()) {
        tls_trampoline_next = next.address();
        return std::noop_coroutine();
    }
#endif
    return next;
}

// Worker loop side: the coroutine parked by transfer_to(), or null.
inline std::coroutine_handle<> take_trampolined() noexcept {
    void* next = tls_trampoline_next;
    if (next == nullptr) return nullptr;
    tls_trampoline_next = nullptr;
    return std::coroutine_handle<>::from_address(next);
}

}  // namespace weft::detail
