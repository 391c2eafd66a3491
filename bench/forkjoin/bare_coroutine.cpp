// The bare coroutine floor (bare_coroutine.hpp).
#include "bare_coroutine.hpp"

#include <coroutine>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <new>
#include <utility>

namespace forkjoin::bare {
namespace {

// Frames by size class (64-byte steps up to 1 KiB) on a per-thread free list:
// after the first calls every frame comes from the list, as in weft's pool.
struct free_lists {
    static constexpr std::size_t k_classes = 16;
    void* head[k_classes] = {};
    ~free_lists() {
        for (void*& h : head)
            while (h != nullptr) std::free(std::exchange(h, *static_cast<void**>(h)));
    }
};
thread_local free_lists tls_frames;

class task {
public:
    struct promise_type {
        std::coroutine_handle<> continuation;
        std::uint64_t value = 0;

        static void* operator new(std::size_t n) {
            const std::size_t c = (n - 1) / 64;
            if (c >= free_lists::k_classes) {
                if (void* p = std::malloc(n)) return p;
                throw std::bad_alloc();
            }
            if (void* p = tls_frames.head[c]) {
                tls_frames.head[c] = *static_cast<void**>(p);
                return p;
            }
            if (void* p = std::malloc((c + 1) * 64)) return p;
            throw std::bad_alloc();
        }
        static void operator delete(void* p, std::size_t n) noexcept {
            const std::size_t c = (n - 1) / 64;
            if (c >= free_lists::k_classes) return std::free(p);
            *static_cast<void**>(p) = tls_frames.head[c];
            tls_frames.head[c] = p;
        }

        task get_return_object() noexcept { return task(std::coroutine_handle<promise_type>::from_promise(*this)); }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct final_awaiter {
            bool await_ready() noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                return h.promise().continuation;
            }
            void await_resume() noexcept {}
        };
        final_awaiter final_suspend() noexcept { return {}; }
        void return_value(std::uint64_t v) noexcept { value = v; }
        // fib cannot throw; a floor carries no exception slot.
        void unhandled_exception() noexcept { std::terminate(); }
    };

    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    task(task&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    task& operator=(task&&) = delete;
    ~task() {
        if (h_) h_.destroy();
    }

    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h_.promise().continuation = awaiting;
        return h_;
    }
    std::uint64_t await_resume() const noexcept { return h_.promise().value; }

    // Runs the task to its end on this thread (every await inside completes
    // synchronously, so one resume does it).
    std::uint64_t run() {
        h_.promise().continuation = std::noop_coroutine();
        h_.resume();
        return h_.promise().value;
    }

private:
    std::coroutine_handle<promise_type> h_;
};

task fib_task(int n) {
    if (n < 2) co_return static_cast<std::uint64_t>(n);
    const std::uint64_t a = co_await fib_task(n - 1);
    const std::uint64_t b = co_await fib_task(n - 2);
    co_return a + b;
}

}  // namespace

std::uint64_t fib(int n) { return fib_task(n).run(); }

}  // namespace forkjoin::bare
