// spawn: Python's asyncio.create_task. Schedules a task on the current runtime and
// returns a join_handle; `co_await handle` gives the result or rethrows, and a
// dropped handle detaches the task (the runtime then owns and finishes it).
#pragma once

#include <weft/detail/cancel.hpp>
#include <weft/detail/export.hpp>
#include <weft/detail/worker_context.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <utility>

namespace weft {

template <class T = void>
class join_handle;

namespace detail {

// spawn_record::state (task.hpp) of a spawned task:
//   k_running  the task has not finished; the handle holds it, nobody awaits it
//   k_done     finished; the handle will collect the result and free the frame
//   k_detached the handle was dropped: the task frees itself when it finishes
//   other      the address of the coroutine awaiting the handle
// Transitions: running -> done (the task), running -> awaiter (the handle's await),
// running -> detached (the handle's destructor), awaiter -> done (the task, which
// then resumes the awaiter). For a spawned task, promise_base::join_ holds the
// frame's own address.
inline constexpr std::uintptr_t k_running = 0;
inline constexpr std::uintptr_t k_done = 2;
inline constexpr std::uintptr_t k_detached = 4;

// The runtime registry of detached tasks (runtime/scheduler/scheduler.cpp), so
// that shutdown can destroy the ones that never finish.
//
// detach_task() runs the handle's side of the running -> detached transition
// under the registry lock, so that a runtime being destroyed on another thread
// cannot free the frame between the registration and the state change. It frees
// the frame itself when the task already finished or its runtime is gone.
WEFT_API void detach_task(std::uint64_t runtime_id, std::coroutine_handle<> frame,
                          std::atomic<std::uintptr_t>& state) noexcept;
// The task's side: a detached task that finished leaves the registry and is freed.
WEFT_API void finish_detached(std::uint64_t runtime_id, std::coroutine_handle<> frame) noexcept;
// join_handle::cancel(): cancels a spawned task's root scope. From a thread that
// is not a worker of its runtime, only while that runtime lives, holding it
// meanwhile (the cancellation reaches the task's timer wheel and reactor); once
// the runtime is stopping or gone, nothing: its shutdown, or the handle, destroys
// the task.
WEFT_API void cancel_spawned(std::uint64_t runtime_id, cancel_scope& root) noexcept;

inline std::coroutine_handle<> spawned_done(promise_base& p) noexcept {
    if (p.inline_) return p.continuation_;  // the joiner ran us itself: no atomics
    // acq_rel: release publishes the result to the handle's acquire in await or
    // detach; acquire sees the awaiter's state before it suspended (its CAS).
    const std::uintptr_t old = p.spawn_->state.exchange(k_done, std::memory_order_acq_rel);
    if (old == k_running) return std::noop_coroutine();
    auto self = std::coroutine_handle<>::from_address(p.join_);
    if (old == k_detached) {
        finish_detached(p.spawn_->runtime_id, self);  // destroys this frame
        return std::noop_coroutine();
    }
    return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(old));
}

template <class T>
std::coroutine_handle<task_promise<T>> prepare_spawn(task<T>& t, std::uint64_t runtime_id, const char* call) {
    task<T>::check_awaitable(t.handle(), call);
    auto* record = new spawn_record(runtime_id);  // before release(): t still owns the frame if this throws
    auto h = t.release();
    promise_base& p = h.promise();
    p.spawn_ = record;
    p.free_token_ = 0;  // the record needs deleting: frees go through the destroy path
    p.scope_ = &record->scope;
    p.on_done_ = &spawned_done;
    p.join_ = h.address();
    return h;
}

}  // namespace detail

template <class T>
class [[nodiscard]] join_handle {
public:
    join_handle() noexcept = default;
    join_handle(join_handle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    join_handle& operator=(join_handle&& o) noexcept {
        if (this != &o) {
            detach();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    join_handle(const join_handle&) = delete;
    join_handle& operator=(const join_handle&) = delete;
    ~join_handle() { detach(); }

    // False once awaited, detached or moved from.
    explicit operator bool() const noexcept { return static_cast<bool>(h_); }

    // True when the task has finished (its result is ready to collect).
    bool done() const noexcept {
        // acquire: pairs with spawned_done()'s release.
        return h_ && h_.promise().spawn_->state.load(std::memory_order_acquire) == detail::k_done;
    }

    // Cancels the task (asyncio's Task.cancel): it stops with weft::cancelled at
    // its next timer, I/O, sync or yield() await (the operation is cancelled in
    // the reactor), and awaiting the handle then rethrows weft::cancelled unless
    // the task caught it. Tasks it awaits or forks are cancelled with it; tasks
    // it spawned are not, except one whose handle it is awaiting at the time (see
    // awaiter). No effect once the task finished, or on an empty handle.
    void cancel() noexcept {
        if (h_) detail::cancel_spawned(h_.promise().spawn_->runtime_id, h_.promise().spawn_->scope);
    }

    // Lets the task run on without anyone waiting for it; the runtime frees it
    // when it finishes, or at shutdown if it never does.
    void detach() noexcept {
        if (!h_) return;
        auto h = std::exchange(h_, nullptr);
        detail::promise_base& p = h.promise();
        // acquire: pairs with spawned_done()'s release before we free the frame.
        if (p.spawn_->state.load(std::memory_order_acquire) == detail::k_done) {
            h.destroy();
            return;
        }
        // Only this handle could cancel the task's root scope (cancel() above).
        p.spawn_->scope.seal();
        detail::detach_task(p.spawn_->runtime_id, h, p.spawn_->state);
    }

    // `co_await handle`. The await is a cancellation point, as in asyncio: when
    // the awaiting task is cancelled (cancel() on its own handle, a timeout, a
    // when_any it lost), the cancellation passes on to the awaited task, as if
    // cancel() were called on this handle, and the await goes on until that task
    // has finished. It then gives what the task gave: weft::cancelled, or its
    // value if it finished anyway. So a timeout or when_any around the await
    // returns only after the spawned task is done, as with any child.
    class awaiter : detail::cancellable {
    public:
        explicit awaiter(join_handle& jh) : jh_(jh) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        // A frame destroyed while suspended here (at shutdown) leaves its scope,
        // which may outlive it (a when_any's or task_group's scope).
        ~awaiter() { detail::cancel_scope::remove(*this); }

        bool await_ready() const {
            if (!jh_.h_) throw usage_error("co_await on an empty weft::join_handle (moved-from, detached or already awaited)");
            if (jh_.awaiting_) throw usage_error("co_await on a weft::join_handle that is already being awaited");
            // The task resumes its awaiter on the worker that finishes it, so an
            // awaiter from another runtime would move into this one, beyond the
            // reach of its own runtime's shutdown.
            const detail::worker_context* w = detail::tls_worker;
            if (w != nullptr && w->runtime_id_ != jh_.h_.promise().spawn_->runtime_id)
                throw usage_error(
                    "co_await on a weft::join_handle from another runtime: await a task's handle "
                    "from tasks of the runtime that spawned it");
            return jh_.done();
        }

        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
            auto h = jh_.h_;
            detail::promise_base& p = h.promise();
            jh_.awaiting_ = true;
            // Registered before the task can finish and resume us, so that
            // await_resume's remove() always has the registration to undo. A
            // scope cancelled already passes the cancellation on at once.
            if (detail::cancel_scope* scope = detail::scope_of(parent)) {
                cancel_ = &pass_on_cancel;
                if (!scope->add(*this)) p.spawn_->scope.cancel();
            }
            if (detail::worker_context* w = detail::tls_worker) {
                // Fork-join fast path: if our own deque's newest item is the task's
                // fresh tag, nobody has started it: run it inline and let it return
                // straight to us.
                const std::uintptr_t item = w->queue_.pop();
                if (item == detail::as_fresh_child(h)) {
                    p.inline_ = true;
                    p.continuation_ = parent;
                    return detail::transfer_to(h);
                }
                if (item != 0) detail::push_local(*w, item);  // just popped: there is room
            }
            std::uintptr_t expected = detail::k_running;
            // acq_rel on success: release publishes our state to the thread that
            // will resume us (its exchange acquires). acquire on failure: the task
            // finished; see its result.
            if (p.spawn_->state.compare_exchange_strong(expected, detail::as_item(parent),
                                                       std::memory_order_acq_rel,
                                                       std::memory_order_acquire)) {
                return std::noop_coroutine();
            }
            return detail::transfer_to(parent);
        }

        T await_resume() {
            // After this, no canceller is inside pass_on_cancel (remove() takes
            // the scope's lock, which the canceller holds), so the frame can go.
            detail::cancel_scope::remove(*this);
            auto h = std::exchange(jh_.h_, nullptr);
            jh_.awaiting_ = false;
            struct frame_guard {
                std::coroutine_handle<detail::task_promise<T>> h;
                ~frame_guard() { h.destroy(); }
            } guard{h};
            return h.promise().take_result();
        }

    private:
        // Called under the awaiting task's scope lock, from any thread, while the
        // task's frame is alive (it is freed in await_resume, after remove()).
        // Lock order: the awaiting task's scope, then the awaited task's root
        // scope. Tasks awaiting each other's handles in a cycle would take them
        // round the cycle, back to a scope this thread (or another canceller)
        // holds; cancel_scope::cancel() returns at once for a scope already
        // marked cancelled, which every held one is, so the walk ends there.
        static void pass_on_cancel(detail::cancellable& c) noexcept {
            static_cast<awaiter&>(c).jh_.h_.promise().spawn_->scope.cancel();
        }

        join_handle& jh_;
    };

    awaiter operator co_await() & { return awaiter(*this); }
    awaiter operator co_await() && { return awaiter(*this); }

    // Internal: adopts a frame prepared by detail::prepare_spawn.
    explicit join_handle(std::coroutine_handle<detail::task_promise<T>> h) noexcept : h_(h) {}

private:
    std::coroutine_handle<detail::task_promise<T>> h_ = nullptr;
    bool awaiting_ = false;
};

// Schedules `t` on the runtime of the calling task (it must run on a weft
// worker; from other threads use runtime::spawn).
template <class T>
join_handle<T> spawn(task<T> t) {
    detail::worker_context* w = detail::tls_worker;
    if (w == nullptr)
        throw usage_error("weft::spawn called outside a weft task: from other threads use runtime::spawn");
    auto h = detail::prepare_spawn(t, w->runtime_id_, "weft::spawn");
    join_handle<T> handle(h);  // owns the frame should the push throw
    detail::push_local(*w, detail::as_fresh_child(h));
    detail::notify_local_work(*w);
    return handle;
}

// Any other awaitable, e.g. spawn(when_all(...)): wrapped in a task first.
template <detail::non_task_awaitable A>
auto spawn(A&& a) -> join_handle<detail::await_result_t<A>> {
    return spawn(detail::as_task(std::forward<A>(a)));
}

}  // namespace weft
