// Timers: sleep_for and sleep_until suspend the calling task without blocking its
// worker (Python's asyncio.sleep). They never wake early; the worker's timing
// wheel has 1 ms resolution, so they may wake up to about a millisecond late.
#pragma once

#include <weft/detail/export.hpp>
#include <weft/task.hpp>

#include <chrono>
#include <concepts>

namespace weft {

// Resumes the calling task at `deadline` or later. A deadline already past
// completes at once. Throws weft::cancelled when the task is cancelled while it
// sleeps (e.g. by timeout()), and usage_error when awaited off a weft worker.
WEFT_API task<void> sleep_until(std::chrono::steady_clock::time_point deadline);

// Any other clock: converted through the time left until `deadline`.
template <class Clock, class Duration>
    requires(!std::same_as<Clock, std::chrono::steady_clock>)
task<void> sleep_until(std::chrono::time_point<Clock, Duration> deadline) {
    return sleep_until(std::chrono::steady_clock::now() +
                       std::chrono::ceil<std::chrono::steady_clock::duration>(deadline - Clock::now()));
}

namespace detail {

// now + d, rounded up and saturated a century ahead (so hours::max() means
// "practically forever" rather than an overflow into the past).
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> d) {
    using namespace std::chrono;
    constexpr auto century = hours(24 * 365 * 100);
    if (d <= d.zero()) return steady_clock::now();
    if (d >= duration_cast<duration<Rep, Period>>(century)) return steady_clock::now() + century;
    return steady_clock::now() + ceil<steady_clock::duration>(d);
}

}  // namespace detail

// Resumes the calling task after at least `d` (zero or negative: at once).
template <class Rep, class Period>
task<void> sleep_for(std::chrono::duration<Rep, Period> d) {
    return sleep_until(detail::deadline_after(d));
}

}  // namespace weft
