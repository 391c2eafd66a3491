// when_any: asyncio.wait(..., return_when=FIRST_COMPLETED), tidied up. Runs every
// task concurrently; the first to finish wins, the others are cancelled and joined
// before when_any returns, so no task is left running behind it.
#pragma once

#include <weft/detail/cancel.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/when_all.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <optional>
#include <utility>
#include <variant>

namespace weft {

namespace detail {

// What the children of one when_any share: the scope that cancels the losers,
// and the winner's result. `decided` is claimed once, by the first child to end.
template <class Result>
struct race {
    explicit race(cancel_scope* outer) : scope(outer) {}
    cancel_scope scope;
    std::atomic<bool> decided{false};
    std::optional<Result> result;
    std::exception_ptr error;
};

template <std::size_t I, class Result, class T>
task<void> race_child(task<T> t, race<Result>& r) {
    std::optional<value_or_monostate_t<T>> value;
    std::exception_ptr error;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(t);
            value.emplace();
        } else {
            value.emplace(co_await std::move(t));
        }
    } catch (...) {
        error = std::current_exception();
    }
    // relaxed: only the winner writes result/error, and when_any reads them after
    // joining every child (when_all's join publishes them).
    if (r.decided.exchange(true, std::memory_order_relaxed)) co_return;  // a loser: its result is dropped
    // First: the losers stop at their next await, even if storing the value throws.
    r.scope.cancel();
    if (error) {
        r.error = error;
        co_return;
    }
    try {
        r.result.emplace(I, typename Result::second_type(std::in_place_index<I>, std::move(*value)));
    } catch (...) {
        r.error = std::current_exception();  // a value whose move threw: when_any rethrows it
    }
}

}  // namespace detail

// Gives {index, value} of the first task to finish (void becomes std::monostate;
// the variant's alternative `index` holds the value). If the first to finish
// threw, when_any rethrows that exception. The others are cancelled: each stops
// with weft::cancelled at its next timer, I/O, sync or yield() await, and when_any
// returns only after all of them ended; what they return or throw is dropped.
// When the task awaiting when_any is cancelled, so are all the children, and
// when_any throws weft::cancelled.
template <class... Ts>
task<std::pair<std::size_t, std::variant<detail::value_or_monostate_t<Ts>...>>> when_any(task<Ts>... tasks) {
    static_assert(sizeof...(Ts) != 0, "weft::when_any needs at least one task");
    using result_type = std::pair<std::size_t, std::variant<detail::value_or_monostate_t<Ts>...>>;
    (task<Ts>::check_awaitable(tasks.handle(), "weft::when_any"), ...);
    detail::cancel_context& self = co_await detail::this_cancel_context{};
    detail::cancel_scope* const outer = self.scope_;
    detail::race<result_type> r(outer);
    self.scope_ = &r.scope;  // the children inherit it
    co_await [&]<std::size_t... I>(std::index_sequence<I...>) {
        return when_all(detail::race_child<I>(std::move(tasks), r)...);
    }(std::index_sequence_for<Ts...>{});
    self.scope_ = outer;
    if (r.error) std::rethrow_exception(r.error);
    co_return std::move(*r.result);
}

// Tasks mixed with other awaitables, e.g. when_any(worker(), ch.recv()): each
// awaitable that is not a task runs as a task that awaits it (and is cancelled
// at that await when it loses).
template <class... As>
    requires detail::mixed_awaitables<As...>
auto when_any(As&&... as) {
    return when_any(detail::to_task(std::forward<As>(as))...);
}

}  // namespace weft
