// Helpers for the timer, net and fs suites: run a test once per reactor backend,
// count this process's open file descriptors, raise their limit, and cancel a
// wait the moment it starts.
#pragma once

#include "test_support.hpp"

#include <weft/weft.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace weft_test {

// A config for `backend`, or nullopt (with a WARN saying why) when the kernel
// refuses io_uring, or the runtime does (under valgrind, which hangs in
// io_uring_enter): those tests then report that they skipped, and the epoll run
// of the same test still counts.
inline std::optional<weft::config> io_config(const std::string& backend, unsigned workers = 2) {
    weft::config cfg{.workers = workers, .io_backend = backend};
    if (backend == "io_uring") {
        try {
            weft::runtime probe(weft::config{.workers = 1, .io_backend = "io_uring"});
        } catch (const weft::io_error& e) {
            WARN("io_uring unavailable, test skipped for it: " << e.what());
            return std::nullopt;
        } catch (const weft::config_error& e) {
            WARN("io_uring refused, test skipped for it: " << e.what());
            return std::nullopt;
        }
    }
    return cfg;
}

// Entries in /proc/self/fd, not counting the directory handle used to list them.
inline int open_fds() {
    DIR* d = opendir("/proc/self/fd");
    if (d == nullptr) return -1;
    int n = 0;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
    closedir(d);
    return n - 1;
}

// Raises the soft RLIMIT_NOFILE to the hard limit (tests that hold ~2,000 sockets
// must not depend on the shell's `ulimit -n`).
inline void raise_fd_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

// How cancel_each_as_it_starts() ended.
struct cancel_tally {
    int cancelled = 0;  // rounds that ended with weft::cancelled, as they must
    int lost = 0;       // rounds whose cancel was lost (then it stops)
};

// Runs `t`, then raises `ended` however it ends (value, exception, or its frame
// destroyed at shutdown).
template <class T>
weft::task<T> noting_the_end(weft::task<T> t, std::shared_ptr<std::atomic<bool>> ended) {
    struct mark {
        std::shared_ptr<std::atomic<bool>> flag;
        ~mark() { flag->store(true); }
    } m{std::move(ended)};
    co_return co_await std::move(t);
}

// `n` rounds of: spawn start(flag), a task that raises `flag` right before the
// wait under test; it runs on the other worker (stolen while this task spins);
// cancel it the moment the flag is up, a little later each round, to move the
// cancel across the window between the wait's registering in its scope and
// arming. Each round must end with weft::cancelled. A cancel that was lost shows
// as a task still waiting after 20 s (a bound against a hang, not a speed limit):
// it is counted and left to the runtime's shutdown. (Joining it would hang: a
// second cancel of the same task is a no-op.)
template <class Start>
weft::task<cancel_tally> cancel_each_as_it_starts(int n, Start start) {
    cancel_tally out;
    for (int round = 0; round < n; ++round) {
        // Shared with the task, which may outlive this round if the test fails.
        auto started = std::make_shared<std::atomic<bool>>(false);
        auto ended = std::make_shared<std::atomic<bool>>(false);
        auto h = weft::spawn(noting_the_end(start(started), ended));
        if (!spin_until([&] { return started->load(); })) break;
        spin_a_little(round);
        h.cancel();
        // A cancelled task ends within microseconds: yield while it does, then
        // poll at a gentler pace up to the bound.
        for (int i = 0; i < 1000 && !ended->load(); ++i) co_await weft::yield();
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!ended->load() && std::chrono::steady_clock::now() < give_up)
            co_await weft::sleep_for(std::chrono::milliseconds(1));
        if (!ended->load()) {
            ++out.lost;
            h.detach();
            break;
        }
        try {
            co_await std::move(h);
        } catch (const weft::cancelled&) {
            ++out.cancelled;
        }
    }
    co_return out;
}

}  // namespace weft_test

// One run of the enclosing TEST_CASE per backend; `cfg` is the config to use.
#define WEFT_FOR_EACH_BACKEND(cfg, workers)                                               \
    const std::string backend_name = GENERATE(as<std::string>{}, "io_uring", "epoll");    \
    INFO("io_backend = " << backend_name);                                                \
    const std::optional<weft::config> cfg##_opt = weft_test::io_config(backend_name, workers); \
    if (!cfg##_opt) return;                                                               \
    const weft::config& cfg = *cfg##_opt
