// when_all: Python's asyncio.gather. Runs every child concurrently (idle workers
// may steal them), waits for all of them, then gives their results in input order
// or rethrows the first exception (first in time). Over task<Ts>... (a tuple), a
// std::vector of tasks (a vector), or an inplace_vector of at most N tasks (an
// inplace_vector, with no heap allocation).
#pragma once

#include <weft/detail/fork_join.hpp>
#include <weft/inplace_vector.hpp>
#include <weft/task.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace weft {

namespace detail {

// void results become std::monostate so they fit in a tuple or vector.
template <class T>
using value_or_monostate_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// The result of a child that finished without an exception: after the join
// found no failed child (first_error() < 0), so no child's exception is checked
// again.
template <class T>
WEFT_ALWAYS_INLINE value_or_monostate_t<T> take_value(task<T>& t) {
    if constexpr (std::is_void_v<T>)
        return {};
    else
        return t.handle().promise().take_value();
}

template <class T>
WEFT_ALWAYS_INLINE void check_child(const task<T>& t) {
    task<T>::check_awaitable(t.handle());
}

// when_all over a range that holds an empty task, out of the inlined path.
[[noreturn]] WEFT_COLD inline void throw_empty_task_in_range() {
    throw usage_error("weft::when_all: the range holds an empty task (moved-from or default-constructed)");
}

template <class... Ts>
inline constexpr bool same_types_v = true;
template <class T, class... Ts>
inline constexpr bool same_types_v<T, Ts...> = (std::is_same_v<T, Ts> && ...);

template <class T, class...>
struct first_of {
    using type = T;
};

// The children of when_all(task<T>...) over one type: their frames, owned here.
// A join that found no failed child frees them as it hands their results out
// (take_all: each is there and finished, so no test of either) and then owns
// nothing, so the destructor tests one flag, not every child.
template <class T, std::size_t N>
class task_block {
public:
    using handle = std::coroutine_handle<task_promise<T>>;

    template <class... Tasks>
    WEFT_ALWAYS_INLINE explicit task_block(Tasks&&... ts) noexcept : handles_{ts.release()...} {}
    task_block(task_block&& o) noexcept : handles_(o.handles_), owned_(std::exchange(o.owned_, false)) {}
    task_block& operator=(task_block&&) = delete;
    ~task_block() {
        if (owned_) [[unlikely]] {
            for (handle h : handles_)
                if (h) release_frame(h);
        }
    }

    const std::array<handle, N>& handles() const noexcept { return handles_; }

    // Requires every child finished without an exception (the join's
    // first_error() < 0).
    template <class Result>
    WEFT_ALWAYS_INLINE Result take_all() {
        return [&]<std::size_t... I>(std::index_sequence<I...>) WEFT_LAMBDA_INLINE {
            Result out = [&] {
                if constexpr (std::is_void_v<T>)
                    return Result{(static_cast<void>(I), std::monostate{})...};
                else
                    return Result{handles_[I].promise().take_value()...};
            }();
            // A fold, not a loop: unrolled for fib's 2 and skynet's 10.
            (release_finished_frame(handles_[I]), ...);
            owned_ = false;
            return out;
        }(std::make_index_sequence<N>{});
    }

private:
    std::array<handle, N> handles_;
    bool owned_ = true;
};

// when_all(task<Ts>...): awaitable, and convertible to task<std::tuple<...>>.
// Tasks of one type (fib's two children, skynet's ten) sit in a task_block that
// the fork_join reads directly, its size fixed at compile time; tasks of
// different types sit in a tuple, listed for the fork_join in an array of
// child_refs.
template <class... Ts>
class [[nodiscard]] when_all_of_tasks {
    static constexpr std::size_t k_n = sizeof...(Ts);
    static constexpr bool k_uniform = k_n > 0 && same_types_v<Ts...>;
    using first_type = typename first_of<Ts..., void>::type;
    using storage = std::conditional_t<k_uniform, task_block<first_type, k_n>, std::tuple<task<Ts>...>>;

public:
    using result_type = std::tuple<value_or_monostate_t<Ts>...>;

    WEFT_ALWAYS_INLINE explicit when_all_of_tasks(task<Ts>... ts) : tasks_{std::move(ts)...} {}

    class awaiter {
    public:
        WEFT_ALWAYS_INLINE explicit awaiter(storage& tasks) : tasks_(tasks), join_(children_of(tasks)) {}

        WEFT_ALWAYS_INLINE bool await_ready() const {
            if constexpr (k_uniform) {
                for (auto h : tasks_.handles()) task<first_type>::check_awaitable(h);
            } else {
                std::apply([](auto&... t) WEFT_LAMBDA_INLINE { (check_child(t), ...); }, tasks_);
            }
            return k_n == 0;
        }
        template <class Promise>
        WEFT_ALWAYS_INLINE std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
            return transfer_to(join_.fork(parent));
        }
        WEFT_ALWAYS_INLINE result_type await_resume() {
            if constexpr (k_n > 0) {
                const std::int32_t failed = join_.first_error();
                if (failed >= 0) [[unlikely]]
                    join_.children()[static_cast<std::uint32_t>(failed)].promise->rethrow_error();
            }
            if constexpr (k_uniform)
                return tasks_.template take_all<result_type>();
            else
                return std::apply([](auto&... t) WEFT_LAMBDA_INLINE { return result_type{take_value(t)...}; },
                                  tasks_);
        }

    private:
        using children_type =
            std::conditional_t<k_uniform, fixed_handle_array<first_type, static_cast<std::uint32_t>(k_n)>,
                               child_ref_array>;

        WEFT_ALWAYS_INLINE children_type children_of(storage& tasks) {
            if constexpr (k_uniform) {
                return children_type{tasks.handles().data()};
            } else {
                refs_ = std::apply(
                    [](auto&... t) WEFT_LAMBDA_INLINE { return std::array<child_ref, k_n>{child_of(t)...}; }, tasks);
                return children_type{refs_.data(), static_cast<std::uint32_t>(k_n)};
            }
        }

        struct no_refs {};
        storage& tasks_;
        [[no_unique_address]] std::conditional_t<k_uniform, no_refs, std::array<child_ref, k_n>> refs_;
        basic_fork_join<children_type> join_;
    };

    WEFT_ALWAYS_INLINE awaiter operator co_await() && { return awaiter(tasks_); }

    // So that `task<R> t = when_all(...)`, spawn(when_all(...)) and
    // block_on(when_all(...)) work.
    operator task<result_type>() && { return as_task(std::move(*this)); }

private:
    storage tasks_;
};

// when_all over a run-time number of tasks: std::vector<task<T>> gives
// std::vector<T>, inplace_vector<task<T>, N> gives inplace_vector<T, N> (no heap
// allocation). Awaitable, and convertible to task<result_type>.
template <class T, class Tasks, class Results>
class [[nodiscard]] when_all_of_range {
public:
    using result_type = Results;

    explicit when_all_of_range(Tasks&& ts) : tasks_(std::move(ts)) {}

    class awaiter {
    public:
        explicit awaiter(Tasks& tasks) : tasks_(tasks), join_(task_array<T>{tasks.data(), checked_size(tasks)}) {}

        WEFT_ALWAYS_INLINE bool await_ready() const {
            for (const task<T>& t : tasks_) {
                if (!t) [[unlikely]] throw_empty_task_in_range();
                check_child(t);
            }
            return tasks_.empty();
        }
        template <class Promise>
        WEFT_ALWAYS_INLINE std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
            return transfer_to(join_.fork(parent));
        }
        WEFT_ALWAYS_INLINE result_type await_resume() {
            if (join_.first_error() >= 0) [[unlikely]]
                tasks_[static_cast<std::size_t>(join_.first_error())].handle().promise().rethrow_error();
            result_type out;
            if constexpr (requires { out.reserve(tasks_.size()); }) out.reserve(tasks_.size());
            // Each child is there and finished: its frame goes as soon as its
            // result is out (release_finished_frame, no done() test), and the
            // range's destructor later meets only emptied tasks. Should a result's
            // move throw, the frames not yet released stay the range's to free.
            for (task<T>& t : tasks_) {
                out.push_back(take_value(t));
                release_finished_frame(t.release());
            }
            return out;
        }

    private:
        static std::uint32_t checked_size(const Tasks& tasks) {
            if (tasks.size() > std::numeric_limits<std::uint32_t>::max())
                throw usage_error("weft::when_all: more than 2^32-1 tasks in one call");
            return static_cast<std::uint32_t>(tasks.size());
        }

        Tasks& tasks_;
        basic_fork_join<task_array<T>> join_;
    };

    WEFT_ALWAYS_INLINE awaiter operator co_await() && { return awaiter(tasks_); }

    operator task<result_type>() && { return as_task(std::move(*this)); }

private:
    Tasks tasks_;
};

}  // namespace detail

template <class... Ts>
WEFT_ALWAYS_INLINE detail::when_all_of_tasks<Ts...> when_all(task<Ts>... tasks) {
    return detail::when_all_of_tasks<Ts...>(std::move(tasks)...);
}

// Tasks mixed with other awaitables, e.g. when_all(load(), ch.recv()) or a nested
// when_all(a(), when_all(b(), c())): each awaitable that is not a task runs as a
// task that awaits it.
template <class... As>
    requires detail::mixed_awaitables<As...>
auto when_all(As&&... as) {
    return when_all(detail::to_task(std::forward<As>(as))...);
}

template <class T>
auto when_all(std::vector<task<T>> tasks) {
    return detail::when_all_of_range<T, std::vector<task<T>>, std::vector<detail::value_or_monostate_t<T>>>(
        std::move(tasks));
}

// At most N tasks, chosen at run time, without a heap allocation (the fork-join
// idiom of nqueens: one child per legal move).
// Takes the tasks by rvalue reference (tasks are move-only, so the caller moves
// them either way) and moves them once, into the awaitable.
template <class T, std::size_t N>
auto when_all(inplace_vector<task<T>, N>&& tasks) {
    return detail::when_all_of_range<T, inplace_vector<task<T>, N>,
                                     inplace_vector<detail::value_or_monostate_t<T>, N>>(std::move(tasks));
}

}  // namespace weft
