// task<T>: weft's lazy coroutine (Python's `async def`). It starts when awaited,
// spawned or passed to block_on, and hands control back to its awaiter by
// symmetric transfer, so chains of awaits never grow the stack.
#pragma once

#include <weft/detail/always_inline.hpp>
#include <weft/detail/cancel.hpp>
#include <weft/detail/frame_alloc.hpp>
#include <weft/detail/relocate.hpp>
#include <weft/detail/transfer.hpp>
#include <weft/errors.hpp>

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

namespace weft {

template <class T = void>
class task;

namespace detail {

// What a spawned task shares with its join_handle and its runtime (spawn.hpp):
// allocated by spawn, owned by the frame, freed with it. Kept out of the promise
// so that the many tasks that are never spawned carry one pointer for it.
struct spawn_record {
    explicit spawn_record(std::uint64_t runtime) noexcept : scope(nullptr), runtime_id(runtime) {}
    // The root cancellation scope join_handle::cancel() cancels (the task's
    // scope_ starts out pointing to it).
    cancel_scope scope;
    // See spawn.hpp for the states.
    std::atomic<std::uintptr_t> state{0};
    const std::uint64_t runtime_id;
};

// A parameter copy of type P needs no destructor call. The promise sees a
// reference parameter as its referred type, which may be incomplete where the
// coroutine is defined: that counts as needing one (the trait would not
// compile, and the answer only picks the slower, always correct release path).
// A reference to a template over an incomplete type (`const std::optional<fwd>&`)
// is no concern here: GCC and clang instantiate a coroutine's parameter types
// themselves, so such a coroutine does not compile with any promise.
template <class P>
inline constexpr bool nothing_to_destroy = [] {
    if constexpr (requires { sizeof(P); })
        return std::is_trivially_destructible_v<P>;
    else
        return false;
}();

// What every task frame carries besides its result. A task awaited directly uses
// only `continuation_`; a fork-join child or a spawned task also gets `on_done_`,
// which decides who runs next when it finishes (see fork_join.hpp, spawn.hpp).
// The cancellation scope it runs under comes from cancel_context (cancel.hpp).
struct promise_base : cancel_context {
    using on_done_fn = std::coroutine_handle<> (*)(promise_base&) noexcept;

    // Fields are ordered so that the ones every frame starts with zeroed lie
    // side by side (the compiler clears them with a few wide stores); the ones
    // after them are written by whoever installs on_done_ and read only by it.

    // The coroutine to resume when this one finishes. Written by the awaiter
    // before the task starts; read by the final awaiter.
    std::coroutine_handle<> continuation_ = nullptr;
    on_done_fn on_done_ = nullptr;
    // Spawned tasks only, owned by the frame.
    spawn_record* spawn_ = nullptr;
    std::exception_ptr error_;
    // True when the joiner itself started this task from its own deque (no thief
    // involved), so finishing needs no atomic read-modify-write. Written by the
    // thread that starts the task, before it starts; read when it finishes.
    bool inline_ = false;
    // The frame's token (frame_alloc.hpp) while the frame can be freed without
    // the coroutine's destroy path (release_frame below), else 0: set by
    // note_frame() when the promise is made, cleared by anything that gives the
    // frame something to destroy (an exception, a spawn record). Read by
    // whoever releases the frame.
    frame_token free_token_;
    // Fork-join or spawn bookkeeping, written together with on_done_ by
    // whoever installs it (fork_join.hpp, spawn.hpp), so no initial value.
    std::uint32_t index_;
    void* join_;

    promise_base() noexcept = default;
    promise_base(const promise_base&) = delete;
    promise_base& operator=(const promise_base&) = delete;
    ~promise_base() { delete spawn_; }

    WEFT_ALWAYS_INLINE static void* operator new(std::size_t n) { return allocate_frame(n); }
    WEFT_ALWAYS_INLINE static void operator delete(void* p, std::size_t n) noexcept { free_frame(p, n); }

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class Promise>
        WEFT_ALWAYS_INLINE std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
            promise_base& p = h.promise();
            if (p.on_done_ != nullptr) return transfer_to(p.on_done_(p));
            return transfer_to(p.continuation_);
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept {
        error_ = std::current_exception();
        free_token_ = 0;  // the exception_ptr needs its destructor
    }

    // Called by the promise's constructor, which the coroutine's ramp runs right
    // after allocating `frame` (operator new above) and copying the parameters
    // into it. Records the frame's token when nothing in the frame but the promise
    // needs destroying once the coroutine has finished: every parameter copy is
    // trivially destructible (the promise's constructor sees them as Params; a
    // reference parameter shows its referred type, so it counts conservatively).
    // The coroutine's locals are gone by its final suspension point.
    template <class... Params>
    WEFT_ALWAYS_INLINE void note_frame(const void* frame) noexcept {
        if constexpr ((nothing_to_destroy<Params> && ...)) {
            last_frame& l = tls_last_frame;
            free_token_ = l.address == frame ? l.token : 0;
            // Used once: no later promise can match a stale record. (Where the
            // ramp is inlined the compiler drops the address store before it.)
            l.address = nullptr;
        } else {
            free_token_ = 0;
        }
    }

    WEFT_ALWAYS_INLINE void rethrow_if_failed() {
        if (error_) [[unlikely]] rethrow_error();
    }
    [[noreturn]] WEFT_COLD void rethrow_error() { std::rethrow_exception(error_); }
};

template <class T>
struct task_promise : promise_base {
    task<T> get_return_object() noexcept;

    template <class U = T>
        requires std::is_convertible_v<U&&, T>
    WEFT_ALWAYS_INLINE void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        ::new (static_cast<void*>(&value_)) T(std::forward<U>(v));
        if constexpr (!k_trivial) has_value_ = true;
    }

    // Moves the result out, or rethrows the task's exception.
    WEFT_ALWAYS_INLINE T take_result() {
        rethrow_if_failed();
        return std::move(value_);
    }
    // Moves the result out of a task known to have one (when_all after its join
    // found no failed child).
    WEFT_ALWAYS_INLINE T take_value() noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(value_); }

    // Takes the coroutine's parameters (C++20 passes them to a promise
    // constructor that accepts them) only to see their types: note_frame.
    template <class... Params>
    WEFT_ALWAYS_INLINE task_promise(const Params&...) noexcept {
        note_frame<Params...>(std::coroutine_handle<task_promise>::from_promise(*this).address());
    }
    ~task_promise() {
        if constexpr (!k_trivial) {
            if (has_value_) value_.~T();
        }
    }

    // A result with nothing to destroy (an int, a pointer, a tuple of them)
    // needs no flag saying whether it was constructed: one store less when the
    // task returns and one test less when its frame is freed.
    static constexpr bool k_trivial = std::is_trivially_destructible_v<T>;

private:
    struct no_flag {};

    union {
        T value_;
    };
    [[no_unique_address]] std::conditional_t<k_trivial, no_flag, bool> has_value_{};
};

template <>
struct task_promise<void> : promise_base {
    template <class... Params>
    WEFT_ALWAYS_INLINE task_promise(const Params&...) noexcept {
        note_frame<Params...>(std::coroutine_handle<task_promise>::from_promise(*this).address());
    }

    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    WEFT_ALWAYS_INLINE void take_result() { rethrow_if_failed(); }

    static constexpr bool k_trivial = true;
};

// Frees the frame of a finished task, the way h.destroy() would. A frame whose
// promise kept its token (free_token_, see note_frame) holds nothing to destroy
// but the promise, so it goes straight back to the frame allocator: no trip
// through the coroutine's destroy entry and its dispatch on the suspension
// point. The promise of a trivially destructible result has nothing to destroy
// either: free_token_ != 0 means no exception and no spawn record. when_all
// calls it for children its join saw finish.
template <class T>
WEFT_ALWAYS_INLINE void release_finished_frame(std::coroutine_handle<task_promise<T>> h) noexcept {
    task_promise<T>& p = h.promise();
    const frame_token token = p.free_token_;
    if (token != 0) [[likely]] {
        if constexpr (!task_promise<T>::k_trivial) p.~task_promise();
        free_frame_by_token(h.address(), token);
        return;
    }
    h.destroy();
}

// Frees a task's frame, finished or not (~task).
template <class T>
WEFT_ALWAYS_INLINE void release_frame(std::coroutine_handle<task_promise<T>> h) noexcept {
    if (h.done()) [[likely]]
        release_finished_frame(h);
    else
        h.destroy();
}

// The misuse errors of check_awaitable(), out of the inlined path. `call` names
// the function a task was handed to; null for co_await.
[[noreturn]] WEFT_COLD inline void throw_empty_task_awaited(const char* call = nullptr) {
    if (call == nullptr) throw usage_error("co_await on an empty weft::task (moved-from or default-constructed)");
    throw usage_error(std::string(call) + ": the task is empty (moved-from or default-constructed)");
}
[[noreturn]] WEFT_COLD inline void throw_task_awaited_twice(const char* call = nullptr) {
    if (call == nullptr)
        throw usage_error("co_await on a weft::task that was already awaited: a task runs once");
    throw usage_error(std::string(call) + ": the task was already started or awaited: a task runs once");
}

}  // namespace detail

template <class T>
class [[nodiscard]] task {
    static_assert(!std::is_reference_v<T>, "task<T&> is not supported: return a pointer or a value");

public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    task(task&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    task& operator=(task&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { reset(); }

    // False for a default-constructed or moved-from task.
    explicit operator bool() const noexcept { return static_cast<bool>(h_); }

    struct awaiter {
        std::coroutine_handle<promise_type> h;

        WEFT_ALWAYS_INLINE bool await_ready() const {
            check_awaitable(h);
            return false;
        }
        template <class Promise>
        WEFT_ALWAYS_INLINE std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
            h.promise().continuation_ = awaiting;
            detail::inherit_scope(h.promise(), awaiting);
            return detail::transfer_to(h);
        }
        WEFT_ALWAYS_INLINE T await_resume() { return h.promise().take_result(); }
    };

    awaiter operator co_await() & noexcept { return awaiter{h_}; }
    awaiter operator co_await() && noexcept { return awaiter{h_}; }

    // Internals for the runtime, when_all and spawn: the frame, and handing it over.
    std::coroutine_handle<promise_type> handle() const noexcept { return h_; }
    std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, nullptr); }
    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}

    // Throws usage_error unless `h` is a task that can still be started. `call`
    // names the function it was handed to (block_on, spawn, timeout, ...) for the
    // message; null for a co_await.
    WEFT_ALWAYS_INLINE static void check_awaitable(std::coroutine_handle<promise_type> h, const char* call = nullptr) {
        if (!h) [[unlikely]] detail::throw_empty_task_awaited(call);
        // Starting a task always sets one of these (an await, a fork or a spawn),
        // so they also cover a task that already finished. Tested together (one
        // `or`, one branch): when_all runs this for every child.
        const auto& p = h.promise();
        const std::uintptr_t started = reinterpret_cast<std::uintptr_t>(p.continuation_.address()) |
                                       reinterpret_cast<std::uintptr_t>(p.on_done_);
        if (started != 0) [[unlikely]] detail::throw_task_awaited_twice(call);
    }

private:
    void reset() noexcept {
        if (h_) detail::release_frame(h_);
        h_ = nullptr;
    }

    std::coroutine_handle<promise_type> h_ = nullptr;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}

inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

// A task is its frame's handle: moving it by a copy of its bytes leaves the old
// copy nothing to release (detail/relocate.hpp).
template <class T>
inline constexpr bool relocates_by_copy<task<T>> = true;

template <class>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

// The awaiter `co_await a` uses for an expression of type A: what a member or a
// non-member operator co_await returns, or `a` itself (weft's sync awaiters,
// yield(), most users' awaiters).
template <class A>
struct awaiter_of {
    using type = A;
};
template <class A>
    requires requires { std::declval<A>().operator co_await(); }
struct awaiter_of<A> {
    using type = decltype(std::declval<A>().operator co_await());
};
template <class A>
    requires(!requires { std::declval<A>().operator co_await(); } &&
             requires { operator co_await(std::declval<A>()); })
struct awaiter_of<A> {
    using type = decltype(operator co_await(std::declval<A>()));
};

// An expression of type A can be co_awaited in a task. (await_suspend is not
// checked: it is usually a template over the awaiting promise.)
template <class A>
concept awaitable = requires(typename awaiter_of<A>::type& w) {
    { w.await_ready() } -> std::convertible_to<bool>;
    w.await_resume();
};

// What `co_await a` gives, for an awaitable of type A.
template <class A>
using await_result_t = decltype(std::declval<typename awaiter_of<A>::type&>().await_resume());

// The coroutine behind as_task: its frame owns the awaitable.
template <class Awaitable>
task<await_result_t<Awaitable>> await_owned(Awaitable a) {
    co_return co_await std::move(a);
}

// Wraps any awaitable into a task, for APIs that take task<T> (block_on, spawn,
// timeout, when_all, when_any, task_group::spawn). The task keeps a copy of an
// lvalue, or what an rvalue moves in; an lvalue of a move-only awaitable (a
// join_handle) is refused here, with a message saying what to write instead.
template <class A>
auto as_task(A&& a) {
    static_assert(std::constructible_from<std::remove_cvref_t<A>, A>,
                  "weft: this awaitable can only be moved (a join_handle, say), and the call takes it over: "
                  "hand it over with std::move(x)");
    return await_owned<std::remove_cvref_t<A>>(std::forward<A>(a));
}

// An awaitable that is not a task: what the awaitable overloads of block_on,
// spawn, timeout, when_all and when_any take. (Lvalues of move-only awaitables
// are let in so that as_task can say what is wrong, where overload resolution
// would only say "no matching function".)
template <class A>
concept non_task_awaitable = !is_task_v<std::remove_cvref_t<A>> && awaitable<A>;

// The argument of a mixed when_all / when_any as a task: a task as it is (it must
// be an rvalue, like every task handed over), anything else wrapped by as_task.
template <class T>
WEFT_ALWAYS_INLINE task<T> to_task(task<T>&& t) noexcept {
    return std::move(t);
}
template <non_task_awaitable A>
auto to_task(A&& a) {
    return as_task(std::forward<A>(a));
}

// Arguments a mixed when_all / when_any accepts: rvalue tasks and other
// awaitables, at least one of them not a task (all tasks: the task overloads).
template <class A>
concept rvalue_task = is_task_v<std::remove_cvref_t<A>> && !std::is_lvalue_reference_v<A>;
template <class... As>
concept mixed_awaitables =
    sizeof...(As) > 0 && ((non_task_awaitable<As> || rvalue_task<As>) && ...) && (non_task_awaitable<As> || ...);

}  // namespace detail

}  // namespace weft
