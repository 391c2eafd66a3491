// task_group: asyncio.TaskGroup. g.spawn(t) starts t at once; `co_await g.join()`
// waits for every task spawned into the group. The first task to fail cancels the
// others, and join() rethrows its exception once they have all finished.
#pragma once

#include <weft/detail/cancel.hpp>
#include <weft/detail/worker_context.hpp>
#include <weft/errors.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/wait_group.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

namespace weft {

class task_group {
public:
    task_group() : state_(std::make_shared<state>()) {}
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    // A group destroyed before join() finished cancels the tasks still running;
    // they end on their own (they share the group's state, not the object).
    // Destroyed by its runtime's shutdown, it leaves them to that shutdown.
    ~task_group() { cancel(); }

    // Starts `t` on the calling task's runtime (call it from a weft task), as part
    // of the group. Its result is dropped; its exception, if first, fails the
    // group. A task spawned into a cancelled or failed group starts cancelled.
    // All of a group's tasks run on one runtime: spawning from a task of another
    // throws usage_error.
    template <class T>
    void spawn(task<T> t) {
        task<T>::check_awaitable(t.handle(), "weft::task_group::spawn");
        state_->bind_runtime();
        state_->pending.add(1);
        try {
            weft::spawn(member(state_, std::move(t))).detach();
        } catch (...) {
            state_->pending.done();
            throw;
        }
    }
    // Any other awaitable, e.g. g.spawn(when_all(...)).
    template <detail::non_task_awaitable A>
    void spawn(A&& a) {
        spawn(detail::as_task(std::forward<A>(a)));
    }

    // Waits until every task in the group has finished, then rethrows the first
    // exception one of them threw. If the task awaiting join() is cancelled, the
    // group's tasks are cancelled, join() still waits for them, then throws
    // weft::cancelled. After cancel(), join() throws weft::cancelled (or the
    // exception of a task that failed), whether or not a task saw the
    // cancellation: one that finished without awaiting anything did not.
    task<void> join() {
        std::shared_ptr<state> st = state_;
        detail::cancel_context& self = co_await detail::this_cancel_context{};
        bool cancelled_while_waiting = false;
        try {
            co_await st->pending.wait();
        } catch (const cancelled&) {
            cancelled_while_waiting = true;
        }
        if (cancelled_while_waiting) {
            st->cancel();  // this task may be of another runtime than the group's
            detail::cancel_scope* const saved = self.scope_;
            self.scope_ = nullptr;  // this wait must not be cancelled: nothing is left running
            co_await st->pending.wait();
            self.scope_ = saved;
        }
        if (std::exception_ptr error = st->first_error()) std::rethrow_exception(error);
        if (cancelled_while_waiting || st->scope.cancelled()) throw cancelled{};
    }

    // Cancels every task in the group (and those spawned into it later); join()
    // then throws weft::cancelled, or the exception of a task that failed. From
    // any thread; no effect on the tasks once their runtime is shutting down
    // (the shutdown destroys them).
    void cancel() noexcept { state_->cancel(); }

    // Tasks spawned into the group that have not finished (a snapshot).
    std::size_t size() const noexcept { return static_cast<std::size_t>(state_->pending.count()); }

private:
    struct state {
        detail::cancel_scope scope{nullptr};
        // The runtime the group's tasks run on, set by the first spawn() under
        // bind_mutex; 0 before. cancel() reaches that runtime's reactors and
        // wheels, so it goes through cancel_spawned(), which holds the runtime,
        // or does nothing once it is stopping.
        std::atomic<std::uint64_t> runtime_id{0};
        std::mutex bind_mutex;
        wait_group pending;
        std::mutex error_mutex;
        std::exception_ptr error;  // under error_mutex: the first failure

        // True when `e` is the group's first failure.
        bool fail(std::exception_ptr e) {
            std::lock_guard lock(error_mutex);
            if (error) return false;
            error = std::move(e);
            return true;
        }
        std::exception_ptr first_error() {
            std::lock_guard lock(error_mutex);
            return error;
        }
        // Before each spawn, on a worker (spawn() throws usage_error itself
        // otherwise).
        void bind_runtime() {
            const detail::worker_context* self = detail::tls_worker;
            if (self == nullptr) return;
            // acquire: pairs with the binding store below, which came after any
            // cancel() that found no id (under bind_mutex): a task spawned now
            // finds the scope cancelled. Once set, the id never changes.
            if (runtime_id.load(std::memory_order_acquire) == self->runtime_id_) [[likely]]
                return;
            std::lock_guard lock(bind_mutex);
            const std::uint64_t id = runtime_id.load(std::memory_order_relaxed);  // relaxed: under the lock
            if (id == 0) {
                runtime_id.store(self->runtime_id_, std::memory_order_release);  // release: see above
                return;
            }
            if (id != self->runtime_id_)
                throw usage_error("weft::task_group::spawn: the group's tasks run on another runtime; "
                                  "spawn into a group from tasks of one runtime");
        }
        void cancel() noexcept {
            std::unique_lock lock(bind_mutex);
            // relaxed: under the lock, which orders us with the binding spawn.
            const std::uint64_t id = runtime_id.load(std::memory_order_relaxed);
            if (id == 0) {
                // Nothing spawned: no task of any runtime to reach. Under the
                // lock, so that a first spawn() cannot start a task in between:
                // it finds the scope cancelled.
                scope.cancel();
                return;
            }
            lock.unlock();
            detail::cancel_spawned(id, scope);
        }
    };

    template <class T>
    static task<void> member(std::shared_ptr<state> st, task<T> t) {
        detail::cancel_context& self = co_await detail::this_cancel_context{};
        detail::cancel_scope* const own = self.scope_;
        self.scope_ = &st->scope;  // t inherits the group's scope
        std::exception_ptr error;
        try {
            co_await std::move(t);
        } catch (...) {
            error = std::current_exception();
        }
        self.scope_ = own;
        if (error && st->fail(std::move(error))) st->scope.cancel();
        st->pending.done();  // the last use of the group by this task
    }

    std::shared_ptr<state> state_;
};

}  // namespace weft
