// async_generator<T>: a lazy sequence whose body may co_await timers, I/O and tasks
// between yields (Python's async generators). `co_await g.next()` runs the body to
// its next co_yield by symmetric transfer, under the consumer's cancellation scope.
#pragma once

#include <weft/detail/cancel.hpp>
#include <weft/detail/frame_alloc.hpp>
#include <weft/detail/transfer.hpp>
#include <weft/errors.hpp>

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft {

template <class T>
class async_generator;

namespace detail {

// One step of the protocol between the consumer and the body:
//   1. `co_await g.next()`: await_ready claims the generator (next_pending_), then
//      await_suspend records the consumer, puts the body under the consumer's
//      cancellation scope and transfers to the body.
//   2. The body runs, awaiting whatever it likes, on whichever worker resumes it.
//   3. `co_yield v` publishes a pointer to v and transfers back to the consumer;
//      the end of the body (or an exception escaping it) does the same from
//      final_suspend.
//   4. The consumer's await_resume moves or copies the value out (or rethrows),
//      then releases the claim.
// The body and the consumer never run at the same time, so apart from
// next_pending_ the promise needs no synchronisation: each handover is a resume.
template <class T>
class async_generator_promise : public cancel_context {
public:
    using handle_type = std::coroutine_handle<async_generator_promise>;

    static void* operator new(std::size_t n) { return allocate_frame(n); }
    static void operator delete(void* p, std::size_t n) noexcept { free_frame(p, n); }

    async_generator<T> get_return_object() noexcept;

    // Lazy: the body starts at the first next().
    std::suspend_always initial_suspend() const noexcept { return {}; }

    // Suspends the body and resumes the consumer waiting in next().
    struct to_consumer {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(handle_type body) const noexcept {
            return transfer_to(body.promise().consumer_);
        }
        void await_resume() const noexcept {}
    };

    // `co_yield` of a const lvalue: it may not be moved from, and the consumer of a
    // move-only T could not take it otherwise, so it is copied into the awaiter,
    // which lives in the frame until the body resumes.
    struct to_consumer_with_copy : to_consumer {
        T copy_;

        std::coroutine_handle<> await_suspend(handle_type body) noexcept {
            body.promise().publish(std::addressof(copy_), true);
            return to_consumer::await_suspend(body);
        }
    };

    // The value is passed by pointer rather than stored in an optional<T> in the
    // promise: a yielded variable lives in the frame and a yielded temporary lives
    // to the end of the full-expression holding the co_yield, i.e. until the body
    // resumes, which happens only after the consumer's await_resume took the value.
    // So each element costs one move (or one copy, for a variable) into next()'s
    // result instead of a move into the promise and another out of it, and T needs
    // no default constructor or assignment.
    to_consumer yield_value(T& value) noexcept {
        publish(std::addressof(value), false);
        return {};
    }
    to_consumer yield_value(T&& value) noexcept {
        publish(std::addressof(value), true);
        return {};
    }
    to_consumer_with_copy yield_value(const T& value)
        requires std::copy_constructible<T>
    {
        return {{}, value};
    }

    void return_void() const noexcept {}
    // The body is then at its final suspend point: done() is true, and the next
    // await_resume rethrows this once.
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
    to_consumer final_suspend() const noexcept { return {}; }

    // Step 1. Throws usage_error when a next() is still pending (two awaits of
    // next() at once, e.g. from when_all children): they would both resume the body.
    void claim() {
        // acquire: pairs with release()'s store, so a next() awaited on another
        // thread after the previous one completed sees everything the body and the
        // previous consumer did to the frame. The exchange itself publishes nothing
        // (the frame is not touched before it succeeds), hence no release.
        if (next_pending_.exchange(true, std::memory_order_acquire)) {
            throw usage_error(
                "async_generator::next: another co_await of next() on this generator is still "
                "pending; await one next() at a time");
        }
    }

    // Step 1, continued: runs with the claim held.
    template <class Promise>
    std::coroutine_handle<> start_step(std::coroutine_handle<Promise> consumer) noexcept {
        consumer_ = consumer;
        // Each next() may come from a different consumer: forget the previous one's
        // scope (it may be gone) before taking this one's, which stays null for a
        // consumer that is not a weft coroutine.
        scope_ = nullptr;
        inherit_scope(*this, consumer);
        return transfer_to(handle_type::from_promise(*this));
    }

    // Step 4: the element just yielded, or empty (or the body's exception) once the
    // body has finished.
    std::optional<T> finish_step() {
        struct release_on_exit {
            std::atomic<bool>& pending;
            // release: pairs with claim()'s acquire; the value has been moved out
            // before another next() may resume the body and overwrite it.
            ~release_on_exit() { pending.store(false, std::memory_order_release); }
        } release{next_pending_};
        if (handle_type::from_promise(*this).done()) {
            if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
            return std::nullopt;
        }
        return take_value();
    }

private:
    void publish(T* value, bool owned_by_frame) noexcept {
        value_ = value;
        value_is_movable_ = owned_by_frame;
    }

    // As generator<T>::next(): a temporary (or the awaiter's copy) is moved from; a
    // variable the body may read again is copied, unless T cannot be copied, in
    // which case moving it out is the only way to hand it over.
    std::optional<T> take_value() {
        if constexpr (std::copy_constructible<T>) {
            if (!value_is_movable_) return std::optional<T>(std::in_place, *value_);
        }
        return std::optional<T>(std::in_place, std::move(*value_));
    }

    // All of these are written by whichever side runs (body or consumer, never
    // both at once, see above) and read by the other after the handover.
    T* value_ = nullptr;
    bool value_is_movable_ = false;
    std::exception_ptr exception_;
    std::coroutine_handle<> consumer_ = nullptr;
    // True from a next()'s await_ready until its await_resume. Read and set by
    // claim(), cleared by finish_step(), each on the thread of the consumer of the
    // moment; claims from two consumers may race, which is what it detects.
    std::atomic<bool> next_pending_{false};
};

}  // namespace detail

template <class T>
class [[nodiscard]] async_generator {
    static_assert(!std::is_reference_v<T>,
                  "async_generator<T&> is not supported: T must be a value type (yield values, "
                  "not references; use a pointer to share an object)");
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && !std::is_const_v<T> &&
                      !std::is_volatile_v<T>,
                  "async_generator<T>: T must be a non-const, non-volatile, non-array object type");
    static_assert(std::move_constructible<T>,
                  "async_generator<T>: T must be move-constructible (next() returns "
                  "std::optional<T>)");

public:
    using promise_type = detail::async_generator_promise<T>;
    using value_type = T;

    // An empty generator, as left by a move; only assigning to it is useful.
    async_generator() noexcept = default;
    async_generator(async_generator&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    async_generator& operator=(async_generator&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    async_generator(const async_generator&) = delete;
    async_generator& operator=(const async_generator&) = delete;
    // Destroys the frame and the body's locals; the body must be unstarted, at a
    // co_yield or finished (no next() pending), as for a task that is not running.
    ~async_generator() { reset(); }

    // False for a default-constructed or moved-from generator.
    explicit operator bool() const noexcept { return static_cast<bool>(h_); }

    class [[nodiscard]] next_awaiter {
    public:
        bool await_ready() {
            h_.promise().claim();
            return h_.done();  // finished: nothing to resume, finish_step says so
        }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> consumer) noexcept {
            return h_.promise().start_step(consumer);
        }
        std::optional<T> await_resume() { return h_.promise().finish_step(); }

    private:
        friend async_generator;
        explicit next_awaiter(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}

        std::coroutine_handle<promise_type> h_;
    };

    // `co_await g.next()` resumes the body to its next co_yield and gives the
    // yielded value (moved if it was a temporary, copied if it was a variable of the
    // body), or empty once the body has finished; an exception escaping the body is
    // rethrown here, once, and the generator is then finished. Throws usage_error
    // for an empty generator, and at the co_await while another next() is pending.
    next_awaiter next() {
        if (!h_) {
            throw usage_error(
                "async_generator::next: the generator is empty (moved-from or "
                "default-constructed)");
        }
        return next_awaiter{h_};
    }

private:
    friend promise_type;
    explicit async_generator(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}

    void reset() noexcept {
        if (h_) h_.destroy();
        h_ = nullptr;
    }

    std::coroutine_handle<promise_type> h_ = nullptr;
};

namespace detail {

template <class T>
async_generator<T> async_generator_promise<T>::get_return_object() noexcept {
    return async_generator<T>(handle_type::from_promise(*this));
}

}  // namespace detail

}  // namespace weft
