// A join_handle kept past its runtime owns a task suspended for good. Whatever
// the user then does to what that task waits on, from a plain thread, must not
// touch the dead runtime: set the event it waits for, release its semaphore,
// send on its channel, close its socket, cancel it through the handle. The frame
// stays suspended until the handle frees it.
#include "io_support.hpp"
#include "test_support.hpp"

#include <weft/weft.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <span>
#include <thread>

using namespace std::chrono_literals;
using weft::net::tcp_listener;
using weft::net::tcp_stream;
using weft_test::eventually;
using weft_test::live_frames;

namespace {

weft::task<void> wait_event(weft::event& ev, std::atomic<int>& started) {
    started.fetch_add(1);
    co_await ev.wait();
}

weft::task<void> acquire_one(weft::semaphore& s, std::atomic<int>& started) {
    started.fetch_add(1);
    co_await s.acquire();
}

weft::task<void> receive_one(weft::channel<int>& ch, std::atomic<int>& started) {
    started.fetch_add(1);
    (void)co_await ch.recv();
}

weft::task<void> wait_group_zero(weft::wait_group& wg, std::atomic<int>& started) {
    started.fetch_add(1);
    co_await wg.wait();
}

weft::task<void> sleep_long(std::atomic<int>& started) {
    started.fetch_add(1);
    co_await weft::sleep_for(1h);
}

// A connected pair of streams, made under the calling runtime.
weft::task<void> connect_pair(std::optional<tcp_stream>& client, std::optional<tcp_stream>& server) {
    tcp_listener l = tcp_listener::bind("127.0.0.1", 0);
    auto accepted = weft::spawn(l.accept());
    client.emplace(co_await tcp_stream::connect("127.0.0.1", l.local_port()));
    server.emplace(co_await std::move(accepted));
}

weft::task<void> read_once(tcp_stream& s, std::atomic<int>& started) {
    std::byte buf[16];
    started.fetch_add(1);
    (void)co_await s.read(std::span<std::byte>(buf));
}

// A connected pair, and a task parked reading the client under a runtime that
// is gone; its join_handle still owns it.
struct reader_past_its_runtime {
    std::atomic<int> started{0};
    std::optional<tcp_stream> client;
    std::optional<tcp_stream> server;
    weft::join_handle<void> reader;

    explicit reader_past_its_runtime(const weft::config& cfg) {
        weft::runtime rt(cfg);
        rt.block_on(connect_pair(client, server));
        reader = rt.spawn(read_once(*client, started));
        REQUIRE(eventually([&] { return started.load() == 1; }));
        std::this_thread::sleep_for(1ms);  // to let it park, as a rule
    }
};

}  // namespace

TEST_CASE("waking a task whose runtime is gone, from a plain thread, leaves it to its join_handle") {
    const std::int64_t frames_before = live_frames();
    weft::event ev;
    weft::semaphore sem(0);
    weft::channel<int> ch(1);
    weft::wait_group wg;
    wg.add(1);
    std::atomic<int> started{0};
    weft::join_handle<void> handles[4];
    {
        weft::runtime rt(weft::config{.workers = 2});
        handles[0] = rt.spawn(wait_event(ev, started));
        handles[1] = rt.spawn(acquire_one(sem, started));
        handles[2] = rt.spawn(receive_one(ch, started));
        handles[3] = rt.spawn(wait_group_zero(wg, started));
        REQUIRE(eventually([&] { return started.load() == 4; }));
        // They reach their waits right after counting themselves; a little
        // longer for them to park (if one is late, it still parks before the
        // runtime's workers stop, or its frame waits unstarted: either way the
        // wakes below find nothing of the runtime to touch).
        std::this_thread::sleep_for(20ms);
    }
    ev.set();
    sem.release();
    int v = 1;
    CHECK(ch.try_send(v));
    wg.done();
    for (auto& h : handles) CHECK_FALSE(h.done());
    for (auto& h : handles) h = weft::join_handle<void>{};
    CHECK(live_frames() == frames_before);
}

TEST_CASE("cancelling a task whose runtime is gone, through its join_handle, leaves it suspended") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const std::int64_t frames_before = live_frames();
    const int fds_before = weft_test::open_fds();
    weft::event ev;
    std::atomic<int> started{0};
    std::optional<tcp_stream> client;
    std::optional<tcp_stream> server;
    weft::join_handle<void> handles[3];
    {
        weft::runtime rt(cfg);
        rt.block_on(connect_pair(client, server));
        handles[0] = rt.spawn(wait_event(ev, started));
        handles[1] = rt.spawn(sleep_long(started));
        handles[2] = rt.spawn(read_once(*client, started));
        REQUIRE(eventually([&] { return started.load() == 3; }));
        std::this_thread::sleep_for(20ms);
    }
    for (auto& h : handles) h.cancel();
    for (auto& h : handles) CHECK_FALSE(h.done());
    for (auto& h : handles) h = weft::join_handle<void>{};
    client.reset();
    server.reset();
    CHECK(live_frames() == frames_before);
    CHECK(weft_test::open_fds() == fds_before);
}

TEST_CASE("closing a socket whose reader's runtime is gone leaves the reader to its join_handle") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const std::int64_t frames_before = live_frames();
    const int fds_before = weft_test::open_fds();
    {
        reader_past_its_runtime r(cfg);
        r.client->close();
        CHECK_FALSE(r.reader.done());
        r.reader = weft::join_handle<void>{};
    }
    CHECK(live_frames() == frames_before);
    CHECK(weft_test::open_fds() == fds_before);
}

TEST_CASE("cancels from a plain thread race the runtime's destruction", "[stress]") {
    // A thread cancels three tasks (a sleep, an event wait, a read) through
    // their handles while the main thread destroys their runtime, at a moment
    // that moves a little each round: the cancellation must either finish
    // before the runtime frees the wheels, reactors and scheduler it touches,
    // or find the runtime stopping and do nothing.
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const int rounds = weft_test::scaled(200);
    const std::int64_t frames_before = live_frames();
    for (int round = 0; round < rounds; ++round) {
        weft::event ev;
        std::atomic<int> started{0};
        std::optional<tcp_stream> client;
        std::optional<tcp_stream> server;
        weft::join_handle<void> handles[3];
        std::thread canceller;
        {
            weft::runtime rt(cfg);
            rt.block_on(connect_pair(client, server));
            handles[0] = rt.spawn(wait_event(ev, started));
            handles[1] = rt.spawn(sleep_long(started));
            handles[2] = rt.spawn(read_once(*client, started));
            REQUIRE(eventually([&] { return started.load() == 3; }));
            canceller = std::thread([&handles, round] {
                weft_test::spin_a_little(round % 20);
                for (auto& h : handles) h.cancel();
            });
            weft_test::spin_a_little(round % 7);
        }
        canceller.join();
        for (auto& h : handles) h = weft::join_handle<void>{};
        client.reset();
        server.reset();
        INFO("round " << round);
        REQUIRE(live_frames() == frames_before);
    }
}

TEST_CASE("closing a socket races dropping the handle of its reader whose runtime is gone", "[stress]") {
    // The closer unparks the reader; with its runtime gone nobody resumes it,
    // and the handle, dropped on the main thread at the same moment, destroys
    // its frame: the closer must not touch the waiter after unparking it.
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const int rounds = weft_test::scaled(200);
    const std::int64_t frames_before = live_frames();
    const int fds_before = weft_test::open_fds();
    for (int round = 0; round < rounds; ++round) {
        {
            reader_past_its_runtime r(cfg);
            std::thread closer([&r, round] {
                weft_test::spin_a_little(round % 20);
                r.client->close();
            });
            weft_test::spin_a_little(round % 7);
            r.reader = weft::join_handle<void>{};
            closer.join();
        }
        INFO("round " << round);
        REQUIRE(live_frames() == frames_before);
    }
    CHECK(weft_test::open_fds() == fds_before);
}
