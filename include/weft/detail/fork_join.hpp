// The fork-join protocol behind when_all: fork N children onto the local deque,
// run them one after another inline while nobody steals them, and join with no
// atomic read-modify-write when nothing was stolen.
//
// Fork. The parent pushes children N-1 .. 1 (tagged as fresh, see
// worker_context.hpp) so child 1 sits at the bottom, then transfers to child 0.
//
// The inline chain. When an inline child finishes, the worker pops its deque: if
// the item is child k's fresh tag, nobody else has started child k, so it becomes
// the next inline child. Otherwise children k .. N-1 are "remote": a thief took
// them, or they lie under other work (or in the injector after an overflow) and
// the worker loop will start them like any other item.
//
// The join counter `remote_` starts at 0. Each remote child does fetch_sub(1)
// when it finishes. When the chain ends at child k it does fetch_add(N - k).
//   INV-FJ: `remote_` reaches exactly 0 once, on the last of those N - k + 1
//   operations, and that operation's thread resumes the parent. Before the chain's
//   add the counter is <= 0 (only decrements from 0), so no remote child can see
//   it reach 0 early; after the add it is (remote children still running).
// A chain that runs every child inline returns to the parent without touching
// the counter.
//
// Lifetime. The fork_join lives in the parent's frame. Once a remote child's
// decrement is not the last, the parent may resume and free it at any moment, so
// child_done() touches nothing after that decrement.
#pragma once

#include <weft/detail/worker_context.hpp>
#include <weft/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace weft::detail {

struct child_ref {
    std::coroutine_handle<> handle;
    promise_base* promise;
};

template <class T>
WEFT_ALWAYS_INLINE child_ref child_of(const task<T>& t) noexcept {
    auto h = t.handle();
    if (!h) return {nullptr, nullptr};  // rejected by the awaiter's await_ready
    return {h, &h.promise()};
}

// How a fork_join reaches child i and how many children there are. when_all
// over tasks of different types lists them as child_refs; when_all over tasks
// of one type reads the tasks (a range) or their frames' handles (the variadic
// form: fib's and skynet's when_all, count fixed at compile time) and needs no
// second array.
struct child_ref_array {
    child_ref* refs;
    std::uint32_t n;
    WEFT_ALWAYS_INLINE child_ref operator[](std::uint32_t i) const noexcept { return refs[i]; }
    WEFT_ALWAYS_INLINE std::uint32_t size() const noexcept { return n; }
};

// Every task non-empty: the awaiter's await_ready checked them.
template <class T>
struct task_array {
    const task<T>* tasks;
    std::uint32_t n;
    WEFT_ALWAYS_INLINE child_ref operator[](std::uint32_t i) const noexcept {
        auto h = tasks[i].handle();
        return {h, &h.promise()};
    }
    WEFT_ALWAYS_INLINE std::uint32_t size() const noexcept { return n; }
};

// N frames of tasks of one type (when_all.hpp: task_block).
template <class T, std::uint32_t N>
struct fixed_handle_array {
    const std::coroutine_handle<task_promise<T>>* handles;
    WEFT_ALWAYS_INLINE child_ref operator[](std::uint32_t i) const noexcept {
        return {handles[i], &handles[i].promise()};
    }
    static constexpr std::uint32_t size() noexcept { return N; }
};

template <class Children>
class basic_fork_join {
public:
    explicit basic_fork_join(Children children) noexcept : children_(children) {}

    basic_fork_join(const basic_fork_join&) = delete;
    basic_fork_join& operator=(const basic_fork_join&) = delete;

    // The body of the awaiter's await_suspend: forks every child and returns the
    // first one to run. Requires at least one child, every one awaitable.
    // Children inherit the parent's cancellation scope.
    template <class Promise>
    WEFT_ALWAYS_INLINE std::coroutine_handle<> fork(std::coroutine_handle<Promise> parent) noexcept {
        parent_ = parent;
        const std::uint32_t n = children_.size();
        for (std::uint32_t i = 0; i < n; ++i) {
            promise_base& p = *children_[i].promise;
            inherit_scope(p, parent);
            p.on_done_ = &child_done;
            p.join_ = this;
            p.index_ = i;
        }
        worker_context* w = tls_worker;
        if (w == nullptr) {
            // Not on a worker (a task resumed by hand): nobody could steal, so run
            // the children one after another.
            sequential_ = true;
        } else if (n > 1) {
            for (std::uint32_t i = n - 1; i >= 1; --i) push_local(*w, as_fresh_child(children_[i].handle));
            notify_local_work(*w);
        }
        children_[0].promise->inline_ = true;
        return children_[0].handle;
    }

    WEFT_ALWAYS_INLINE const Children& children() const noexcept { return children_; }

    // Index of the child whose exception came first in time, or -1.
    WEFT_ALWAYS_INLINE std::int32_t first_error() const noexcept {
        // relaxed: the join (INV-FJ's acq_rel, or the single inline thread)
        // already orders the children's writes before the parent's read.
        return first_error_.load(std::memory_order_relaxed);
    }

private:
    static std::coroutine_handle<> child_done(promise_base& p) noexcept {
        auto& fj = *static_cast<basic_fork_join*>(p.join_);
        if (p.error_) [[unlikely]] {
            std::int32_t none = -1;
            // relaxed: only which child wins matters; the join publishes it.
            fj.first_error_.compare_exchange_strong(none, static_cast<std::int32_t>(p.index_),
                                                    std::memory_order_relaxed);
        }
        if (!p.inline_) [[unlikely]] return fj.remote_done();
        const std::uint32_t k = p.index_ + 1;
        if (k == fj.children_.size()) return fj.parent_;  // the chain ran every child: no atomics
        child_ref next = fj.children_[k];
        if (fj.sequential_) [[unlikely]] {
            next.promise->inline_ = true;
            return next.handle;
        }
        // The worker may differ from the one that forked: the child may have
        // migrated after a suspension. Then its deque never holds child k's tag.
        // There may be no worker at all: a user's awaitable may have resumed the
        // child from its own thread; then children k.. stay where they are.
        worker_context* w = tls_worker;
        if (w == nullptr) [[unlikely]] return fj.chain_ends(k);
        const std::uintptr_t item = w->queue_.pop();
        if (item == as_fresh_child(next.handle)) [[likely]] {
            next.promise->inline_ = true;
            return next.handle;
        }
        return fj.chain_ends(*w, item, k);
    }

    // The paths off the inline chain, out of line so that child_done's own path
    // needs no saved registers.

    // A remote child finished.
    WEFT_NOINLINE std::coroutine_handle<> remote_done() noexcept {
        // acq_rel: release publishes this child's result to whoever resumes the
        // parent; acquire (when we are last) sees every other child's result and
        // the chain's.
        if (remote_.fetch_sub(1, std::memory_order_acq_rel) == 1) return parent_;
        return std::noop_coroutine();
    }

    // The chain's pop found something else than child k's tag: put it back.
    WEFT_NOINLINE std::coroutine_handle<> chain_ends(worker_context& w, std::uintptr_t item, std::uint32_t k) noexcept {
        if (item != 0) push_local(w, item);  // just popped: there is room
        return chain_ends(k);
    }

    // The chain ends at child k: children k .. n-1 are remote.
    WEFT_NOINLINE std::coroutine_handle<> chain_ends(std::uint32_t k) noexcept {
        const auto remote = static_cast<std::int64_t>(children_.size() - k);
        // acq_rel: see INV-FJ. release publishes the inline children's results to
        // the remote child that finishes last; acquire sees theirs if we are last.
        if (remote_.fetch_add(remote, std::memory_order_acq_rel) + remote == 0) return parent_;
        return std::noop_coroutine();
    }

    const Children children_;
    bool sequential_ = false;
    std::coroutine_handle<> parent_ = nullptr;
    // Join counter (INV-FJ): written by remote children and the chain's end.
    std::atomic<std::int64_t> remote_{0};
    // Written by failing children; read by the parent after the join.
    std::atomic<std::int32_t> first_error_{-1};
};

using fork_join = basic_fork_join<child_ref_array>;

}  // namespace weft::detail
