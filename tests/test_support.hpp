// Helpers shared by the runtime test suites: a counted type that proves lifetimes,
// frame-count deltas, the WEFT_STRESS_SCALE knob, polling with a hang-only deadline,
// and a watchdog that turns a hang into a failure instead of a stuck CI job.
#pragma once

#include <weft/config.hpp>
#include <weft/detail/frame_alloc.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <sys/resource.h>

namespace weft_test {

// Catch2 v2 assertions are not thread-safe: tasks and helper threads record what
// they saw in these atomics (or plain data published by a join), and the test's
// own thread asserts afterwards.
struct lifetime_counts {
    std::atomic<long> constructed{0};
    std::atomic<long> destroyed{0};

    long live() const noexcept { return constructed.load() - destroyed.load(); }
};

// Every construction (default, copy, move) and destruction is counted, so
// `constructed == destroyed` proves each object was destroyed exactly once and
// `constructed > 0` proves the test really made some.
class counted {
public:
    explicit counted(lifetime_counts& c) noexcept : counts_(&c) { counts_->constructed.fetch_add(1); }
    counted(const counted& o) noexcept : counts_(o.counts_) { counts_->constructed.fetch_add(1); }
    counted(counted&& o) noexcept : counts_(o.counts_) { counts_->constructed.fetch_add(1); }
    counted& operator=(const counted&) = delete;
    counted& operator=(counted&&) = delete;
    ~counted() { counts_->destroyed.fetch_add(1); }

private:
    lifetime_counts* counts_;
};

// Sets (or, with nullopt, unsets) one variable and puts back what was there.
class env_guard {
public:
    env_guard(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) old_ = old;
        if (value)
            ::setenv(name_.c_str(), value->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    ~env_guard() {
        if (old_)
            ::setenv(name_.c_str(), old_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    env_guard(const env_guard&) = delete;
    env_guard& operator=(const env_guard&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

// Frames allocated and not yet freed, over every thread. Exact only while no frame
// is being allocated or freed (e.g. with no runtime alive), so tests compare it
// before creating a runtime and after destroying it.
inline std::int64_t live_frames() noexcept { return weft::detail::frame_stats().live; }

// Lets the object at `p` escape to code the optimizer cannot see. clang (unlike
// GCC 12) puts the frame of a coroutine that is created and destroyed within one
// function on that function's stack (heap allocation elision), and then no frame
// is counted; a test that counts an unstarted coroutine's frame escapes it first.
inline void escape(const void* p) noexcept { asm volatile("" : : "r"(p) : "memory"); }

// The lowest and highest machine-stack positions seen while a chain of awaits
// runs. Symmetric transfer (or weft's trampoline, where the compiler cannot
// tail-call) keeps every link at the same depth; nested calls would push each
// link at least a return address deeper.
struct stack_span {
    std::uintptr_t lowest = UINTPTR_MAX;
    std::uintptr_t highest = 0;

    [[gnu::noinline]] void sample() {
        const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
        lowest = std::min(lowest, here);
        highest = std::max(highest, here);
    }
    std::uintptr_t bytes() const { return highest - lowest; }
};

// An exception type of the tests' own, so a test can tell it from anything the
// runtime throws.
struct test_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline weft::config make_config(unsigned workers,
                                std::size_t capacity = weft::detail::k_default_local_queue_capacity) {
    return weft::config{.workers = workers, .local_queue_capacity = capacity};
}

// WEFT_STRESS_SCALE=k divides the stress tests' iteration counts by k (the TSAN
// CI run sets 10). Unset, empty or invalid means 1.
inline unsigned stress_scale() {
    static const unsigned scale = [] {
        const char* s = std::getenv("WEFT_STRESS_SCALE");
        if (s == nullptr || *s == '\0') return 1u;
        char* end = nullptr;
        const unsigned long v = std::strtoul(s, &end, 10);
        if (*end != '\0' || v == 0 || v > 1000000) return 1u;
        return static_cast<unsigned>(v);
    }();
    return scale;
}

template <class N>
N scaled(N n) {
    return std::max<N>(N{1}, static_cast<N>(n / static_cast<N>(stress_scale())));
}

// CPU seconds (user + system) this process used over one second of wall time,
// for "an idle runtime sleeps" tests: spinning or polling workers would use a
// good part of a second per worker, parked ones almost nothing.
inline double cpu_seconds_over_one_second() {
    auto cpu_now = [] {
        rusage u{};
        getrusage(RUSAGE_SELF, &u);
        return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
               static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
    };
    const double before = cpu_now();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    return cpu_now() - before;
}

// Polls `done` until it is true or `limit` passes; false means it timed out. The
// limit is generous: only a hang should reach it.
template <class Predicate>
bool eventually(Predicate done, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    return true;
}

// Burns a few hundred cycles at most, `salt` choosing how many: a stress test
// uses it to move a racing step across the window it aims at.
inline void spin_a_little(int salt) {
    std::atomic<int> steps{0};  // atomic: the compiler cannot drop the loop
    while (steps.load(std::memory_order_relaxed) < (salt * 37) % 251) steps.fetch_add(1, std::memory_order_relaxed);
}

// Spins (no sleep, and from a task no await) until `ready()`, so that the caller
// sees a change the moment another thread makes it; false after `limit` (a hang).
template <class Predicate>
bool spin_until(Predicate ready, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!ready()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
    }
    return true;
}

// Runs `body(progress)` on a helper thread; `body` bumps `progress` as it goes.
// Returns true when it finished, false when `progress` stood still for
// `stall_limit` (generous: only a hang reaches it). A hung body is left blocked on
// its thread, so the test can fail instead of hanging the suite; `body` must
// therefore own everything it touches (capture shared_ptrs, not references).
template <class Body>
bool completes_without_hanging(Body body, std::chrono::seconds stall_limit = std::chrono::seconds(30)) {
    struct shared_state {
        std::atomic<std::uint64_t> progress{0};
        std::atomic<bool> done{false};
    };
    auto state = std::make_shared<shared_state>();
    std::thread runner([state, body = std::move(body)]() mutable {
        body(state->progress);
        state->done.store(true);
    });
    std::uint64_t seen = state->progress.load();
    auto last_change = std::chrono::steady_clock::now();
    while (!state->done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const std::uint64_t now_progress = state->progress.load();
        const auto now = std::chrono::steady_clock::now();
        if (now_progress != seen) {
            seen = now_progress;
            last_change = now;
        } else if (now - last_change > stall_limit) {
            runner.detach();
            return false;
        }
    }
    runner.join();
    return true;
}

// Aborts the process with a message when progress() has not been called for
// `limit`: a lost wake-up or a shutdown hang then fails the run with a reason
// instead of blocking CI until its own timeout.
class watchdog {
public:
    watchdog(std::string what, std::chrono::seconds limit) : what_(std::move(what)), limit_(limit) {
        thread_ = std::thread([this] { watch(); });
    }
    watchdog(const watchdog&) = delete;
    watchdog& operator=(const watchdog&) = delete;
    ~watchdog() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

    void progress() noexcept { rounds_.fetch_add(1, std::memory_order_relaxed); }

private:
    void watch() {
        std::unique_lock lock(mutex_);
        std::uint64_t seen = rounds_.load(std::memory_order_relaxed);
        auto last_change = std::chrono::steady_clock::now();
        while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
            const std::uint64_t now_rounds = rounds_.load(std::memory_order_relaxed);
            const auto now = std::chrono::steady_clock::now();
            if (now_rounds != seen) {
                seen = now_rounds;
                last_change = now;
            } else if (now - last_change > limit_) {
                std::fprintf(stderr,
                             "watchdog: %s: no progress for %lld s after %llu rounds; aborting so "
                             "that a hang fails the run\n",
                             what_.c_str(), static_cast<long long>(limit_.count()),
                             static_cast<unsigned long long>(now_rounds));
                std::fflush(stderr);
                std::abort();
            }
        }
    }

    const std::string what_;
    const std::chrono::seconds limit_;
    std::atomic<std::uint64_t> rounds_{0};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace weft_test
