// runtime: owns the worker threads and their queues. block_on() runs a task to
// completion from an ordinary thread; run() is Python's asyncio.run.
#pragma once

#include <weft/config.hpp>
#include <weft/detail/export.hpp>
#include <weft/errors.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

#include <condition_variable>
#include <coroutine>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft {

class runtime;

namespace detail {

class scheduler;

// Test and diagnostics hook: how many of the runtime's workers are parked now.
WEFT_API unsigned parked_workers(const runtime& rt) noexcept;
// Test and diagnostics hook: the reactor backend config::io_backend resolved to,
// "io_uring" or "epoll".
WEFT_API const char* io_backend_in_use(const runtime& rt) noexcept;

// Where block_on's root task leaves its result, and how the blocked thread learns
// it is there.
template <class T>
struct block_on_result {
    std::mutex mutex;
    std::condition_variable cv;
    bool finished = false;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, char, T>> value;

    void wait() {
        std::unique_lock lock(mutex);
        cv.wait(lock, [this] { return finished; });
    }
};

// The root coroutine block_on submits: awaits the user's task, stores the outcome,
// and signals from its final suspension point, so that the blocked thread may free
// the frame as soon as it wakes.
struct root_task {
    struct promise_type {
        std::mutex* mutex = nullptr;
        std::condition_variable* cv = nullptr;
        bool* finished = nullptr;

        static void* operator new(std::size_t n) { return allocate_frame(n); }
        static void operator delete(void* p, std::size_t n) noexcept { free_frame(p, n); }

        root_task get_return_object() noexcept {
            return root_task{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct signal_done {
            bool await_ready() noexcept { return false; }
            void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                promise_type& p = h.promise();
                // Notify under the lock: the waiter cannot see `finished` and free
                // the mutex, the condition variable or this frame before we let go.
                std::lock_guard lock(*p.mutex);
                *p.finished = true;
                p.cv->notify_one();
            }
            void await_resume() noexcept {}
        };
        signal_done final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }  // the body catches everything
    };
    std::coroutine_handle<promise_type> handle;

    explicit root_task(std::coroutine_handle<promise_type> h) noexcept : handle(h) {}
    root_task(root_task&& o) noexcept : handle(std::exchange(o.handle, nullptr)) {}
    root_task& operator=(root_task&&) = delete;
    ~root_task() {
        if (handle) handle.destroy();
    }
};

template <class T>
root_task make_root(task<T> t, block_on_result<T>& out) {
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(t);
            out.value.emplace();
        } else {
            out.value.emplace(co_await std::move(t));
        }
    } catch (...) {
        out.error = std::current_exception();
    }
}

}  // namespace detail

class WEFT_API runtime {
public:
    // Starts cfg.workers worker threads. Throws config_error if cfg is invalid.
    explicit runtime(const config& cfg = config{});
    // Stops intake, destroys every task frame the runtime still owns (detached
    // tasks that never finished, with everything they own), joins the workers.
    ~runtime();

    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    unsigned workers() const noexcept;

    // Runs `t` on the workers and blocks the calling thread until it finishes;
    // returns its result or rethrows its exception. Throws usage_error when called
    // from a worker thread (that would block a worker: co_await instead).
    template <class T>
    T block_on(task<T> t) {
        check_block_on_allowed();
        task<T>::check_awaitable(t.handle(), "weft::runtime::block_on");
        detail::block_on_result<T> out;
        detail::root_task root = detail::make_root(std::move(t), out);
        root.handle.promise().mutex = &out.mutex;
        root.handle.promise().cv = &out.cv;
        root.handle.promise().finished = &out.finished;
        submit(root.handle);
        out.wait();
        if (out.error) std::rethrow_exception(out.error);
        if constexpr (!std::is_void_v<T>) return std::move(*out.value);
    }

    // Any other awaitable: when_all(...), a join_handle, ...
    template <detail::non_task_awaitable A>
    auto block_on(A&& a) {
        return block_on(detail::as_task(std::forward<A>(a)));
    }

    // Schedules `t` from any thread (from a task, weft::spawn is the same).
    template <class T>
    join_handle<T> spawn(task<T> t) {
        auto h = detail::prepare_spawn(t, id(), "weft::runtime::spawn");
        join_handle<T> handle(h);  // owns the frame should submit() throw
        submit(h, /*fresh_child=*/true);
        return handle;
    }

    // Any other awaitable: when_all(...), ...
    template <detail::non_task_awaitable A>
    auto spawn(A&& a) -> join_handle<detail::await_result_t<A>> {
        return spawn(detail::as_task(std::forward<A>(a)));
    }

private:
    friend unsigned detail::parked_workers(const runtime& rt) noexcept;
    friend const char* detail::io_backend_in_use(const runtime& rt) noexcept;

    void check_block_on_allowed() const;
    void submit(std::coroutine_handle<> h, bool fresh_child = false);
    std::uint64_t id() const noexcept;

    std::unique_ptr<detail::scheduler> scheduler_;
};

// Python's asyncio.run: a runtime configured from the environment
// (config::from_env()), block_on(t), then shutdown.
template <class A>
auto run(A&& t) {
    if (detail::tls_worker != nullptr)
        throw usage_error("weft::run called from a weft task: it would block that worker (co_await the task instead)");
    runtime rt(config::from_env());
    return rt.block_on(std::forward<A>(t));
}

}  // namespace weft
