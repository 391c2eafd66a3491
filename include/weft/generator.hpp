// weft::generator: synchronous lazy generators (Python's generators). generator<T> is
// a move-only std::ranges input view; generator<T, S> adds send(); chain() is
// itertools.chain. Header-only; needs no runtime.
#pragma once

#include <weft/errors.hpp>

#include <array>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>

namespace weft {

// generator<T> (S = void): a lazy sequence of T; iterate it or call next().
// generator<T, S>: a two-way generator; inside, `S s = co_yield t;` receives what the
// consumer passes to send(s). Not a range: drive it with next() and send().
template <class T, class S = void>
class generator;

namespace detail {

template <class T, class S>
class generator_promise;

// Resuming a co_yield gives back the value sent (two-way generators) or nothing.
// The yielded object itself is already published in the promise by yield_value.
template <class T, class S>
struct yield_awaiter {
    generator_promise<T, S>* promise_;

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    S await_resume() {
        if constexpr (!std::is_void_v<S>) return promise_->take_sent();
    }
};

// `co_yield` of a const lvalue: operator* hands out T&, which must not alias a const
// object, so the value is copied into the awaiter. The awaiter lives in the frame
// until the body resumes, which is exactly as long as the consumer may look at it.
template <class T, class S>
struct yield_copy_awaiter : yield_awaiter<T, S> {
    T copy_;

    void await_suspend(std::coroutine_handle<>) noexcept {
        this->promise_->publish(std::addressof(copy_), true);
    }
};

template <class T, class S>
class generator_promise {
public:
    using handle_type = std::coroutine_handle<generator_promise>;

    generator<T, S> get_return_object() noexcept {
        return generator<T, S>{handle_type::from_promise(*this)};
    }

    // Lazy: the body does not run until the first begin(), next() or send().
    std::suspend_always initial_suspend() const noexcept { return {}; }
    // The generator object owns the frame and destroys it; it also asks done().
    std::suspend_always final_suspend() const noexcept { return {}; }

    // A yielded lvalue or temporary lives until the body resumes (the temporary to
    // the end of the full-expression holding the co_yield), so a pointer suffices.
    yield_awaiter<T, S> yield_value(T& value) noexcept {
        publish(std::addressof(value), false);
        return {this};
    }
    yield_awaiter<T, S> yield_value(T&& value) noexcept {
        publish(std::addressof(value), true);
        return {this};
    }
    yield_copy_awaiter<T, S> yield_value(const T& value)
        requires std::copy_constructible<T>
    {
        return {{this}, value};
    }

    void return_void() const noexcept {}
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    // A generator is synchronous: nothing would resume it after a co_await.
    // async_generator<T> is the type that may await.
    template <class U>
    std::suspend_never await_transform(U&&) = delete;

    void publish(T* value, bool owned_by_frame) noexcept {
        value_ = value;
        value_is_movable_ = owned_by_frame;
    }
    T& value() const noexcept { return *value_; }

    // next() returns by value. A temporary (or a copy) may be moved from; an lvalue
    // is a variable the body may still read after it resumes, so it is copied, unless
    // T cannot be copied, in which case moving it out is the only way to return it.
    T take_value() {
        if constexpr (std::copy_constructible<T>) {
            if (!value_is_movable_) return *value_;
        }
        return std::move(*value_);
    }

    bool started() const noexcept { return started_; }

    // Runs the body to its next co_yield or its end, then rethrows what escaped it.
    // After an exception the frame is at its final suspend point, so done() is true
    // and later steps report the end.
    void step() {
        started_ = true;
        handle_type::from_promise(*this).resume();
        if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
    }

    template <class U>
    void set_sent(U&& sent) {
        sent_.emplace(std::forward<U>(sent));
    }
    auto take_sent() {
        auto sent = std::move(*sent_);
        sent_.reset();
        return sent;
    }

private:
    struct no_sent_value {};

    T* value_ = nullptr;
    bool value_is_movable_ = false;
    bool started_ = false;
    std::exception_ptr exception_;
    // Set by send()/next() just before resuming a two-way generator; read by the
    // co_yield expression the body was suspended in.
    [[no_unique_address]] std::conditional_t<std::is_void_v<S>, no_sent_value, std::optional<S>>
        sent_;
};

// Owns a coroutine frame: moving transfers it, destruction destroys it (and so the
// locals of a body suspended half way).
template <class Promise>
class unique_coroutine {
public:
    using handle_type = std::coroutine_handle<Promise>;

    unique_coroutine() noexcept = default;
    explicit unique_coroutine(handle_type handle) noexcept : handle_(handle) {}
    unique_coroutine(unique_coroutine&& other) noexcept
        : handle_(std::exchange(other.handle_, {})) {}
    unique_coroutine& operator=(unique_coroutine&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    ~unique_coroutine() { reset(); }

    // The frame, or usage_error naming the operation when there is none.
    handle_type checked(const char* operation) const {
        if (!handle_) {
            throw usage_error(std::string("generator::") + operation +
                              ": generator used after move (it holds no coroutine)");
        }
        return handle_;
    }

private:
    void reset() noexcept {
        if (handle_) handle_.destroy();
        handle_ = {};
    }

    handle_type handle_;
};

}  // namespace detail

template <class T>
class generator<T, void> : public std::ranges::view_base {
    static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                  "generator<T>: T must be a non-const object type (yield values, not references)");

public:
    using promise_type = detail::generator_promise<T, void>;

    class iterator {
    public:
        using iterator_concept = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using reference = T&;

        iterator() noexcept = default;

        T& operator*() const noexcept { return handle_.promise().value(); }
        T* operator->() const noexcept { return std::addressof(handle_.promise().value()); }

        // Exceptions thrown by the body come out of here.
        iterator& operator++() {
            handle_.promise().step();
            return *this;
        }
        void operator++(int) { ++*this; }

        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
            return !it.handle_ || it.handle_.done();
        }

    private:
        friend generator;
        explicit iterator(std::coroutine_handle<promise_type> handle) noexcept
            : handle_(handle) {}

        std::coroutine_handle<promise_type> handle_;
    };

    // An empty generator, as left by a move; only assigning to it is useful.
    generator() noexcept = default;
    generator(generator&&) noexcept = default;
    generator& operator=(generator&&) noexcept = default;

    // Runs the body to its first co_yield the first time; later calls (input_range
    // semantics) return the current position without resuming.
    iterator begin() {
        auto handle = frame_.checked("begin");
        if (!handle.promise().started()) handle.promise().step();
        return iterator{handle};
    }
    std::default_sentinel_t end() const noexcept { return {}; }

    // Advances and returns the next value (moved out if it was yielded as a
    // temporary, copied if it was a variable of the body), or empty at the end.
    // Mixed with iteration: next() after begin() returns the element after *begin().
    std::optional<T> next() {
        auto handle = frame_.checked("next");
        if (handle.done()) return std::nullopt;
        handle.promise().step();
        if (handle.done()) return std::nullopt;
        return handle.promise().take_value();
    }

private:
    friend promise_type;
    explicit generator(std::coroutine_handle<promise_type> handle) noexcept
        : frame_(handle) {}

    detail::unique_coroutine<promise_type> frame_;
};

template <class T, class S>
class generator {
    static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                  "generator<T, S>: T must be a non-const object type (yield values, not references)");
    static_assert(std::is_object_v<S> && std::move_constructible<S>,
                  "generator<T, S>: the send type S must be a movable object type");

public:
    using promise_type = detail::generator_promise<T, S>;

    // An empty generator, as left by a move; only assigning to it is useful.
    generator() noexcept = default;
    generator(generator&&) noexcept = default;
    generator& operator=(generator&&) noexcept = default;

    // Like Python's next(g), which sends None: the first call runs the body to its
    // first co_yield; each later call resumes it with S{} as the value of the pending
    // co_yield. Returns the next yielded value, or empty once the body has finished.
    std::optional<T> next() {
        auto handle = frame_.checked("next");
        if (handle.done()) return std::nullopt;
        if (handle.promise().started()) {
            if constexpr (std::default_initializable<S>) {
                handle.promise().set_sent(S{});
            } else {
                throw usage_error(
                    "generator::next called on a started generator whose send type has no "
                    "default value; use send()");
            }
        }
        return step(handle);
    }

    // Like Python's g.send(s): resumes the body with s as the value of the pending
    // co_yield. Returns the next yielded value, or empty once the body has finished.
    std::optional<T> send(S sent) {
        auto handle = frame_.checked("send");
        if (handle.done()) return std::nullopt;
        // No co_yield is pending yet, so nothing could receive the value (Python:
        // "can't send non-None value to a just-started generator").
        if (!handle.promise().started()) {
            throw usage_error(
                "generator::send called before the generator started; call next() first");
        }
        handle.promise().set_sent(std::move(sent));
        return step(handle);
    }

private:
    friend promise_type;
    explicit generator(std::coroutine_handle<promise_type> handle) noexcept
        : frame_(handle) {}

    static std::optional<T> step(std::coroutine_handle<promise_type> handle) {
        handle.promise().step();
        if (handle.done()) return std::nullopt;
        return handle.promise().take_value();
    }

    detail::unique_coroutine<promise_type> frame_;
};

namespace detail {

// chain() walks a uniform array of generators; other ranges are wrapped in one.
template <class T, std::ranges::input_range Range>
    requires(!std::same_as<Range, generator<T>>)
generator<T> as_generator(Range range) {
    for (auto&& element : range) co_yield element;
}

template <class T>
generator<T> as_generator(generator<T> g) noexcept {
    return g;
}

}  // namespace detail

// Python's iter(iterable): any input range as a generator<T>, read lazily. The
// range is taken by value and owned by the generator (pass a container as an
// rvalue, or an lvalue to copy it; a view is cheap to copy). A generator<T> comes
// back as it is.
template <std::ranges::input_range Range>
generator<std::ranges::range_value_t<Range>> as_generator(Range range) {
    return detail::as_generator<std::ranges::range_value_t<Range>>(std::move(range));
}

// itertools.chain: the elements of each range in turn. Every argument is taken by
// value and owned by the returned generator, so pass generators as rvalues; an
// lvalue container is copied. All ranges must have the same value type.
template <std::ranges::input_range First, std::ranges::input_range... Rest>
    requires(std::same_as<std::ranges::range_value_t<First>, std::ranges::range_value_t<Rest>> &&
             ...)
generator<std::ranges::range_value_t<First>> chain(First first, Rest... rest) {
    using value_type = std::ranges::range_value_t<First>;
    std::array<generator<value_type>, 1 + sizeof...(Rest)> parts{
        detail::as_generator<value_type>(std::move(first)),
        detail::as_generator<value_type>(std::move(rest))...};
    for (auto& part : parts) {
        for (auto& element : part) co_yield element;
    }
}

}  // namespace weft
