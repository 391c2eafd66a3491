// weft::fs on both backends: round trips, files without a known size, and errors
// that name the path.
#include "io_support.hpp"
#include "test_support.hpp"

#include <weft/weft.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

namespace {

std::string temp_path(const std::string& name) {
    return "/tmp/weft_fs_test_" + std::to_string(::getpid()) + "_" + name;
}

// A new FIFO at temp_path(name) (one left by an earlier run is replaced).
std::string fresh_fifo(const std::string& name) {
    const std::string path = temp_path(name);
    ::unlink(path.c_str());
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    return path;
}

// Threads of this process whose name starts with `prefix` and that are blocked
// in openat (/proc/self/task/*/syscall starts with its number while it waits).
int threads_in_openat(const std::string& prefix) {
    int found = 0;
    DIR* d = opendir("/proc/self/task");
    if (d == nullptr) return 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        const std::string dir = std::string("/proc/self/task/") + e->d_name;
        std::ifstream comm(dir + "/comm");
        std::string name;
        std::getline(comm, name);
        if (name.rfind(prefix, 0) != 0) continue;
        std::ifstream syscall(dir + "/syscall");
        long number = -1;
        syscall >> number;
        if (number == SYS_openat) ++found;
    }
    closedir(d);
    return found;
}

}  // namespace

TEST_CASE("write_file then read_file gives the same bytes") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    const std::string path = temp_path(backend_name);
    std::string data(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
    rt.block_on(weft::fs::write_file(path, data));
    CHECK(rt.block_on(weft::fs::read_file(path)) == data);
    rt.block_on(weft::fs::write_file(path, "short"));  // truncates
    CHECK(rt.block_on(weft::fs::read_file(path)) == "short");
    rt.block_on(weft::fs::write_file(path, ""));
    CHECK(rt.block_on(weft::fs::read_file(path)).empty());
    ::unlink(path.c_str());
}

TEST_CASE("read_file reads files whose size stat does not know") {
    WEFT_FOR_EACH_BACKEND(cfg, 1);
    weft::runtime rt(cfg);
    const std::string status = rt.block_on(weft::fs::read_file("/proc/self/status"));
    CHECK(status.find("Name:") != std::string::npos);
}

TEST_CASE("file errors name the path") {
    WEFT_FOR_EACH_BACKEND(cfg, 1);
    weft::runtime rt(cfg);
    CHECK_THROWS_WITH(rt.block_on(weft::fs::read_file("/nonexistent/weft/file")),
                      Catch::Contains("read_file /nonexistent/weft/file") && Catch::Contains("No such file"));
    CHECK_THROWS_WITH(rt.block_on(weft::fs::write_file("/nonexistent/weft/file", "x")),
                      Catch::Contains("write_file /nonexistent/weft/file"));
    CHECK_THROWS_AS(rt.block_on(weft::fs::read_file("/tmp")), weft::io_error);  // a directory
    CHECK_THROWS_WITH(rt.block_on(weft::fs::read_file("")), Catch::StartsWith("read_file \"\": "));
    CHECK_THROWS_WITH(rt.block_on(weft::fs::write_file("", "x")), Catch::StartsWith("write_file \"\": "));
    // A NUL inside the path is refused, not cut short at it (open() would create "...nul").
    const std::string cut = temp_path("nul");
    const std::string nul_path = cut + std::string(1, '\0') + "tail";
    CHECK_THROWS_WITH(rt.block_on(weft::fs::write_file(nul_path, "x")),
                      Catch::Contains("write_file " + cut + "\\0tail: the path contains a NUL byte"));
    CHECK_THROWS_WITH(rt.block_on(weft::fs::read_file(nul_path)), Catch::Contains("NUL byte"));
    CHECK(::access(cut.c_str(), F_OK) != 0);
}

TEST_CASE("read_file of a FIFO waits for its writer, as a plain open does") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const std::string fifo = fresh_fifo("fifo_wait_" + backend_name);
    weft::runtime rt(cfg);
    auto reading = rt.spawn(weft::fs::read_file(fifo));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the open starts first, as a rule
    // The writer opens without blocking: ENXIO until a reader has it open. A
    // read that gave up at once (end of file with no writer) leaves it nobody
    // to meet, and the bound below (a hang guard) then ends the wait.
    int fd = -1;
    CHECK(weft_test::eventually([&] { return (fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0; },
                                std::chrono::seconds(10)));
    if (fd >= 0) {
        CHECK(::write(fd, "from the writer", 15) == 15);
        ::close(fd);
    }
    CHECK(rt.block_on(std::move(reading)) == (fd >= 0 ? "from the writer" : ""));
    ::unlink(fifo.c_str());
}

TEST_CASE("write_file to a pipe whose reader is gone fails with EPIPE instead of killing the process") {
    WEFT_FOR_EACH_BACKEND(cfg, 1);
    int ends[2];
    REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    ::close(ends[0]);  // no reader: a write raises SIGPIPE, whose default action kills
    const std::string path = "/proc/self/fd/" + std::to_string(ends[1]);
    weft::runtime rt(cfg);
    try {
        rt.block_on(weft::fs::write_file(path, "into a broken pipe"));
        FAIL("write_file succeeded");
    } catch (const weft::io_error& e) {
        CHECK(e.code().value() == EPIPE);
        CHECK(std::string(e.what()).find("write_file " + path) != std::string::npos);
    }
    ::close(ends[1]);
}

TEST_CASE("shutdown with a read and a write blocked on FIFOs that never get a peer") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const std::string in = fresh_fifo("fifo_in");
    const std::string out = fresh_fifo("fifo_out");
    const int fds_before = weft_test::open_fds();
    const std::int64_t frames_before = weft_test::live_frames();
    {
        // Opening a FIFO waits for its peer, here forever: on epoll in a thread of
        // the blocking pool, on io_uring in the kernel's worker. Shutdown must cut
        // both short; a hang is turned into a failure.
        weft_test::watchdog guard("runtime shutdown with blocked FIFO opens", std::chrono::seconds(60));
        weft::runtime rt(cfg);
        rt.spawn(weft::fs::read_file(in)).detach();
        rt.spawn(weft::fs::write_file(out, "never read")).detach();
        const bool can_see_syscalls = std::ifstream("/proc/self/syscall").good();
        if (std::string(weft::detail::io_backend_in_use(rt)) == "epoll" && can_see_syscalls)
            // Both pool threads blocked in open (what shutdown must interrupt).
            CHECK(weft_test::eventually([&] { return threads_in_openat(cfg.thread_name + "-io") == 2; }));
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the opens reach the kernel
    }
    CHECK(weft_test::open_fds() == fds_before);
    CHECK(weft_test::live_frames() == frames_before);
    ::unlink(in.c_str());
    ::unlink(out.c_str());
}

TEST_CASE("a join_handle dropped after its runtime frees a timeout whose deadline fired while its task could not stop") {
    // A regular file's write is not cut short (not on epoll's blocking pool,
    // where only calls that may block for good are, nor by io_uring): the
    // deadline fires, and the timeout waits for its task. The runtime's shutdown
    // then leaves the frame to the handle, which drops it after the runtime (and
    // its timer wheels) are gone: disarming the fired deadline must not touch
    // the wheel. (A write that beats the 50 ms just lets the timeout finish.)
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const std::string path = temp_path("slow_write_" + backend_name);
    const std::string data(std::size_t{256} << 20, 'w');
    const std::int64_t frames_before = weft_test::live_frames();
    {
        weft_test::watchdog guard("dropping a handle after its runtime", std::chrono::seconds(60));
        weft::join_handle<bool> h;
        {
            weft::runtime rt(cfg);
            h = rt.spawn(weft::timeout(std::chrono::milliseconds(5), weft::fs::write_file(path, data)));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the deadline passes meanwhile
        }
        h = {};
    }
    CHECK(weft_test::live_frames() == frames_before);
    ::unlink(path.c_str());
}

weft::task<void> time_out_on_fifos(std::string in, std::string out, std::string regular) {
    for (int round = 0; round < 4; ++round) {
        // With one pool thread on epoll, the read holds it, blocked in open, and
        // the write waits in the queue behind it: one is cut short in its call,
        // the other never runs.
        auto [read, wrote] = co_await weft::when_all(weft::timeout(std::chrono::milliseconds(20), weft::fs::read_file(in)),
                                                     weft::timeout(std::chrono::milliseconds(20),
                                                                   weft::fs::write_file(out, "never read")));
        CHECK_FALSE(read.has_value());
        CHECK_FALSE(wrote);
    }
    co_await weft::fs::write_file(regular, "still works");
    const std::string back = co_await weft::fs::read_file(regular);
    CHECK(back == "still works");
}

TEST_CASE("timeout cuts short a read and a write blocked on FIFOs with no peer; file I/O works after") {
    WEFT_FOR_EACH_BACKEND(cfg_any, 2);
    weft::config cfg = cfg_any;
    cfg.blocking_threads = 1;
    const std::string in = fresh_fifo("fifo_cut_in");
    const std::string out = fresh_fifo("fifo_cut_out");
    const std::string regular = temp_path("after_cut_" + backend_name);
    const int fds_before = weft_test::open_fds();
    const std::int64_t frames_before = weft_test::live_frames();
    {
        weft_test::watchdog guard("timeouts over blocked FIFO opens", std::chrono::seconds(60));
        weft::runtime rt(cfg);
        rt.block_on(time_out_on_fifos(in, out, regular));
        // No pool thread is left blocked in an open.
        if (std::ifstream("/proc/self/syscall").good())
            CHECK(weft_test::eventually([&] { return threads_in_openat(cfg.thread_name + "-io") == 0; }));
        // A FIFO that gets its peer still works (on epoll: on a new pool thread).
        auto reading = rt.spawn(weft::fs::read_file(in));
        int fd = -1;
        CHECK(weft_test::eventually(
            [&] { return (fd = ::open(in.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0; }, std::chrono::seconds(10)));
        if (fd >= 0) {
            CHECK(::write(fd, "met", 3) == 3);
            ::close(fd);
        }
        CHECK(rt.block_on(std::move(reading)) == (fd >= 0 ? "met" : ""));
    }
    CHECK(weft_test::open_fds() == fds_before);
    CHECK(weft_test::live_frames() == frames_before);
    ::unlink(in.c_str());
    ::unlink(out.c_str());
    ::unlink(regular.c_str());
}

weft::task<std::optional<std::string>> timed_out_read_beside(std::string fifo, std::string regular, bool& other_done) {
    auto [blocked, other] = co_await weft::when_all(weft::timeout(std::chrono::milliseconds(50), weft::fs::read_file(fifo)),
                                                    weft::fs::read_file(regular));
    other_done = other == "queued behind";
    co_return blocked;
}

TEST_CASE("a file call queued behind one that a cancel cuts short still runs") {
    // One pool thread on epoll: the FIFO's open holds it, the regular file's read
    // waits in the queue; the cut-short thread exits, and another must take the
    // queue's job then, not at the next submit.
    WEFT_FOR_EACH_BACKEND(cfg_any, 2);
    weft::config cfg = cfg_any;
    cfg.blocking_threads = 1;
    const std::string fifo = fresh_fifo("fifo_ahead");
    const std::string regular = temp_path("queued_behind_" + backend_name);
    {
        weft_test::watchdog guard("a read queued behind a cut-short open", std::chrono::seconds(60));
        weft::runtime rt(cfg);
        rt.block_on(weft::fs::write_file(regular, "queued behind"));
        bool other_done = false;
        CHECK_FALSE(rt.block_on(timed_out_read_beside(fifo, regular, other_done)).has_value());
        CHECK(other_done);
    }
    ::unlink(fifo.c_str());
    ::unlink(regular.c_str());
}

TEST_CASE("a file call cancelled the moment it starts is never lost", "[stress]") {
    // The cancel lands anywhere from before the call is queued to while it is
    // blocked in the FIFO's open: each one must end the call. A lost one would
    // block for good; a helper thread then opens the FIFO after 2 s, so the read
    // returns a value instead and the test fails rather than hangs.
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const std::string fifo = fresh_fifo("fifo_cancel_at_once_" + backend_name);
    const std::string regular = temp_path("busy_" + backend_name);
    std::atomic<int> current{-1};
    std::atomic<bool> done{false};
    std::thread rescuer([&] {
        int last = -2;
        auto since = std::chrono::steady_clock::now();
        while (!done.load()) {
            const int now = current.load();
            if (now != last) {
                last = now;
                since = std::chrono::steady_clock::now();
            } else if (now >= 0 && std::chrono::steady_clock::now() - since > std::chrono::seconds(2)) {
                const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd >= 0) ::close(fd);
                since = std::chrono::steady_clock::now();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    int lost = 0;
    {
        weft::runtime rt(cfg);
        rt.block_on(weft::fs::write_file(regular, "busy"));
        // Regular reads alongside keep the pool's lock and threads busy.
        std::atomic<bool> stop_busy{false};
        auto busy = rt.spawn([](std::string path, std::atomic<bool>& stop) -> weft::task<void> {
            while (!stop.load()) (void)co_await weft::fs::read_file(path);
        }(regular, stop_busy));
        for (int i = 0; i < 2000; ++i) {
            current.store(i);
            auto h = rt.spawn(weft::fs::read_file(fifo));
            const auto start = std::chrono::steady_clock::now();
            const auto delay = std::chrono::nanoseconds((i * 37) % 60000);
            while (std::chrono::steady_clock::now() - start < delay) {
            }
            h.cancel();
            try {
                (void)rt.block_on(std::move(h));
                ++lost;
            } catch (const weft::cancelled&) {
            }
        }
        stop_busy.store(true);
        rt.block_on(std::move(busy));
    }
    done.store(true);
    rescuer.join();
    CHECK(lost == 0);
    ::unlink(fifo.c_str());
    ::unlink(regular.c_str());
}

namespace {

// The child process of the test below; its exit status says what happened.
enum out_of_threads_result : int {
    k_failed_as_expected = 0,
    k_no_reader_seen = 1,
    k_read_succeeded = 2,
    k_wrong_error = 3,
    k_other_exception = 4,
    k_not_cancelled = 5,
    k_cannot_drop_root = 10,
};

weft::task<int> queued_read_when_out_of_threads(std::string fifo, std::string regular) {
    auto blocked = weft::spawn(weft::fs::read_file(fifo));
    // The pool's one thread is in that read's open once a writer can open the
    // FIFO without blocking (the open of a FIFO with no reader fails, ENXIO).
    // The read then waits in read(): the FIFO has a writer and no bytes.
    int writer = -1;
    for (int i = 0; i < 20000 && writer < 0; ++i) {
        writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (writer < 0) co_await weft::sleep_for(std::chrono::milliseconds(1));
    }
    if (writer < 0) co_return k_no_reader_seen;
    // From here on, no thread can start (this user already runs more than one).
    const rlimit one{1, 1};
    ::setrlimit(RLIMIT_NPROC, &one);
    auto queued = weft::spawn(weft::fs::read_file(regular));
    co_await weft::sleep_for(std::chrono::milliseconds(10));  // it queues behind the blocked read
    blocked.cancel();  // cuts the read short: its thread exits, and no replacement can start
    bool cancelled = false;
    try {
        (void)co_await std::move(blocked);
    } catch (const weft::cancelled&) {
        cancelled = true;
    }
    if (!cancelled) co_return k_not_cancelled;
    int result;
    try {
        (void)co_await std::move(queued);
        result = k_read_succeeded;
    } catch (const weft::io_error& e) {
        const std::string what = e.what();
        result = e.code().value() == EAGAIN && what.find("read_file " + regular) != std::string::npos
                     ? k_failed_as_expected
                     : k_wrong_error;
    } catch (...) {
        result = k_other_exception;
    }
    if (result == k_failed_as_expected) {
        // A call made now finds no thread and cannot start one: the same error.
        try {
            (void)co_await weft::fs::read_file(regular);
            result = k_read_succeeded;
        } catch (const weft::io_error& e) {
            if (e.code().value() != EAGAIN) result = k_wrong_error;
        } catch (...) {
            result = k_other_exception;
        }
    }
    ::close(writer);
    co_return result;
}

}  // namespace

TEST_CASE("calls queued behind the blocking pool's last thread fail when it is cut short and no thread can start") {
    // Epoll only: io_uring does not use the pool. In a child process that drops
    // root and limits its user's threads (RLIMIT_NPROC), so the thread that
    // replaces one a cancel cut short cannot start. The read queued behind must
    // fail with an io_error naming its path; it used to wait for ever (the
    // child's alarm turns a hang into a failure). So must a read made after.
    const std::optional<weft::config> epoll = weft_test::io_config("epoll", 1);
    REQUIRE(epoll.has_value());
    weft::config cfg = *epoll;
    cfg.blocking_threads = 1;
    const std::string fifo = fresh_fifo("fifo_out_of_threads");
    REQUIRE(::chmod(fifo.c_str(), 0666) == 0);  // for the unprivileged child
    const std::string regular = temp_path("out_of_threads");
    {
        std::ofstream(regular) << "never read";
    }
    REQUIRE(::chmod(regular.c_str(), 0644) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::alarm(60);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(k_cannot_drop_root);
        int result;
        try {
            weft::runtime rt(cfg);
            result = rt.block_on(queued_read_when_out_of_threads(fifo, regular));
        } catch (...) {
            result = k_other_exception;
        }
        ::_exit(result);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    ::unlink(fifo.c_str());
    ::unlink(regular.c_str());
    INFO("child status " << status << " (signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")");
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == k_cannot_drop_root) {
        WARN("not run: the test needs root to become another user");
        return;
    }
    CHECK(WEXITSTATUS(status) == k_failed_as_expected);
}
