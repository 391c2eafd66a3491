// Cancellation scopes: how timeout() (and later join_handle::cancel) reach the
// timer or I/O operation a task is suspended on, however deep in its await chain.
//
// Every task frame carries a pointer to the innermost scope it runs under
// (cancel_context::scope_, null for most tasks). A task awaited by another task
// or forked by when_all inherits its parent's scope; spawn starts a new root.
// A leaf operation (sleep, read, accept, ...) registers itself in that scope while
// it is suspended; cancelling the scope cancels every registered operation and,
// recursively, every child scope. A cancelled operation resumes its task, which
// then throws weft::cancelled at that await point; later awaits of timers and I/O
// under a cancelled scope throw at once.
#pragma once

#include <weft/detail/always_inline.hpp>
#include <weft/detail/export.hpp>
#include <weft/detail/spin_lock.hpp>

#include <atomic>
#include <coroutine>
#include <type_traits>

namespace weft::detail {

class cancel_scope;

// Base of every promise type whose awaits can be cancelled (task<T>,
// async_generator<T>).
struct cancel_context {
    cancel_scope* scope_ = nullptr;
};

// The scope an awaiting coroutine runs under, or null for coroutines that are not
// weft tasks (they cannot be cancelled).
template <class Promise>
cancel_scope* scope_of(std::coroutine_handle<Promise> h) noexcept {
    if constexpr (std::is_base_of_v<cancel_context, Promise>)
        return h.promise().scope_;
    else
        return nullptr;
}

// Hands the parent's scope to a child about to run under it.
template <class Promise>
WEFT_ALWAYS_INLINE void inherit_scope(cancel_context& child, std::coroutine_handle<Promise> parent) noexcept {
    if constexpr (std::is_base_of_v<cancel_context, Promise>) child.scope_ = parent.promise().scope_;
}

// A pending operation that a scope can cancel. cancel_ is called with the scope's
// lock held, from any thread, at most once per registration; it must make the
// operation resume its task soon (with a "cancelled" result unless the operation
// completed first) and must not take that scope's lock.
struct cancellable {
    void (*cancel_)(cancellable&) noexcept = nullptr;
    cancellable* prev_ = nullptr;
    cancellable* next_ = nullptr;
    cancel_scope* scope_ = nullptr;  // where it is registered, or null
};

class WEFT_API cancel_scope {
public:
    // A scope nested in `parent` (may be null): cancelling the parent cancels it,
    // and a scope created under a cancelled parent starts out cancelled.
    explicit cancel_scope(cancel_scope* parent);
    // Normally every operation and child scope has left by now. At shutdown,
    // frames are destroyed in any order: those left are detached, not touched.
    ~cancel_scope();

    cancel_scope(const cancel_scope&) = delete;
    cancel_scope& operator=(const cancel_scope&) = delete;

    // Cancels every registered operation and child scope; idempotent.
    void cancel() noexcept;

    bool cancelled() const noexcept {
        // acquire: pairs with cancel()'s release store; a task that sees the flag
        // also sees what the canceller did before cancelling.
        return cancelled_.load(std::memory_order_acquire);
    }

    // Declares that nothing will cancel this scope from now on: a detached task's
    // root scope, which only its join_handle could cancel. Operations awaited
    // under it are then not registered (add() takes no lock, and remove() finds
    // nothing to do): a detached server task's reads and sleeps skip two lock
    // round trips each. A cancel() before the seal still counts.
    void seal() noexcept;

    // Registers a pending operation. False (nothing registered) when the scope is
    // already cancelled: the caller must not start the operation. True without
    // registering it when the scope is sealed.
    bool add(cancellable& op) noexcept;
    // Unregisters it (a no-op if it is not registered).
    static void remove(cancellable& op) noexcept;

private:
    void unlink_child(cancel_scope& child) noexcept;

    spin_lock mutex_;
    // Set once, under mutex_, by cancel(); read without the lock by cancelled().
    std::atomic<bool> cancelled_{false};
    // Set once by seal(); read without the lock by add().
    std::atomic<bool> sealed_{false};
    cancel_scope* parent_;
    // Under the parent's mutex_: this scope's links in its parent's child list.
    cancel_scope* prev_sibling_ = nullptr;
    cancel_scope* next_sibling_ = nullptr;
    // Under mutex_.
    cancel_scope* first_child_ = nullptr;
    cancellable* first_op_ = nullptr;
};

}  // namespace weft::detail
