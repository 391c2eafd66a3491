// Sync primitives (mutex, semaphore, event, wait_group, channel), when_any,
// join_handle::cancel and task_group: counted stress under 2 workers, the
// cancellation of every kind of wait, and the error paths. Cases with timers run
// on both backends. No co_await inside CHECK(...): GCC 12 evaluates the operand of
// Catch's __builtin_constant_p warning guard, so the await would run twice.
#include "io_support.hpp"
#include "test_support.hpp"

#include <weft/weft.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

namespace {

weft::config two_workers() { return weft::config{.workers = 2}; }

// --- mutex ------------------------------------------------------------------

weft::task<void> add_under_lock(weft::mutex& m, long& counter, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        auto guard = co_await m.lock();
        const long seen = counter;
        if (i % 16 == 0) co_await weft::yield();  // hold it across a suspension now and then
        counter = seen + 1;
    }
}

weft::task<long> mutex_counter(int tasks, int rounds) {
    weft::mutex m;
    long counter = 0;
    std::vector<weft::join_handle<void>> hs;
    for (int t = 0; t < tasks; ++t) hs.push_back(weft::spawn(add_under_lock(m, counter, rounds)));
    for (auto& h : hs) co_await h;
    co_return counter;
}

TEST_CASE("mutex: no increment of a plain counter is lost under 2 workers", "[sync][stress]") {
    weft::runtime rt(two_workers());
    const int tasks = 64;
    const int rounds = weft_test::scaled(2000);
    CHECK(rt.block_on(mutex_counter(tasks, rounds)) == long{tasks} * rounds);
}

weft::task<std::vector<int>> lock_order() {
    weft::mutex m;
    std::vector<int> order;
    auto first = co_await m.lock();
    // Each task queues behind the held mutex in spawn order (one worker: each runs
    // to its lock() before the next starts).
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 8; ++i) {
        hs.push_back(weft::spawn([](weft::mutex& mx, std::vector<int>& out, int id) -> weft::task<void> {
            auto g = co_await mx.lock();
            out.push_back(id);
        }(m, order, i)));
        co_await weft::yield();  // let it run to its lock()
    }
    first.unlock();
    for (auto& h : hs) co_await h;
    co_return order;
}

TEST_CASE("mutex: unlock hands the mutex to waiters in FIFO order", "[sync]") {
    weft::runtime rt(weft::config{.workers = 1});
    CHECK(rt.block_on(lock_order()) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("mutex: try_lock, guards and misuse", "[sync]") {
    weft::runtime rt(weft::config{.workers = 1});
    rt.block_on([]() -> weft::task<void> {
        weft::mutex m;
        REQUIRE(m.try_lock());
        CHECK(m.is_locked());
        CHECK_FALSE(m.try_lock());
        m.unlock();
        CHECK_FALSE(m.is_locked());
        CHECK_THROWS_AS(m.unlock(), weft::usage_error);
        {
            auto g = co_await m.lock();
            CHECK(g.owns_lock());
            CHECK_FALSE(m.try_lock());
            weft::mutex::guard moved = std::move(g);
            CHECK_FALSE(g.owns_lock());
            CHECK(moved.owns_lock());
        }
        CHECK_FALSE(m.is_locked());
        REQUIRE(m.try_lock());
        weft::mutex::guard adopted(m, std::adopt_lock);
        adopted.unlock();
        CHECK_FALSE(m.is_locked());
    }());
}

TEST_CASE("mutex: a waiter cancelled by timeout leaves the mutex working", "[sync]") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    rt.block_on([]() -> weft::task<void> {
        weft::mutex m;
        auto held = co_await m.lock();
        const bool got = co_await weft::timeout(5ms, [](weft::mutex& mx) -> weft::task<void> {
            auto g = co_await mx.lock();
        }(m));
        CHECK_FALSE(got);
        held.unlock();  // the cancelled waiter's bit must not strand the mutex
        CHECK_FALSE(m.is_locked());
        auto again = co_await m.lock();
        CHECK(again.owns_lock());
        const auto quick = co_await weft::timeout(1s, []() -> weft::task<int> { co_return 1; }());
        CHECK(quick == std::optional<int>(1));
    }());
}

// --- semaphore ---------------------------------------------------------------

struct peak_meter {
    std::atomic<int> active{0};
    std::atomic<int> peak{0};
    std::atomic<int> finished{0};
};

weft::task<void> use_permit(weft::semaphore& s, peak_meter& pm, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        co_await s.acquire();
        const int now = pm.active.fetch_add(1) + 1;
        int p = pm.peak.load();
        while (now > p && !pm.peak.compare_exchange_weak(p, now)) {
        }
        co_await weft::yield();
        pm.active.fetch_sub(1);
        s.release();
    }
    pm.finished.fetch_add(1);
}

TEST_CASE("semaphore: never more than n holders, every task finishes", "[sync][stress]") {
    weft::runtime rt(two_workers());
    peak_meter pm;
    const int rounds = weft_test::scaled(500);
    rt.block_on([](peak_meter& meter, int r) -> weft::task<void> {
        weft::semaphore s(3);
        std::vector<weft::join_handle<void>> hs;
        for (int t = 0; t < 32; ++t) hs.push_back(weft::spawn(use_permit(s, meter, r)));
        for (auto& h : hs) co_await h;
        CHECK(s.available() == 3);
    }(pm, rounds));
    CHECK(pm.finished.load() == 32);
    CHECK(pm.peak.load() <= 3);
    CHECK(pm.peak.load() >= 1);
}

TEST_CASE("semaphore: try_acquire, release(k) wakes k waiters, bad counts are refused", "[sync]") {
    CHECK_THROWS_AS(weft::semaphore(weft::semaphore::max_permits + 1), weft::usage_error);
    weft::runtime rt(weft::config{.workers = 1});
    rt.block_on([]() -> weft::task<void> {
        weft::semaphore s(1);
        CHECK(s.try_acquire());
        CHECK_FALSE(s.try_acquire());
        std::atomic<int> got{0};
        std::vector<weft::join_handle<void>> hs;
        for (int i = 0; i < 3; ++i) {
            hs.push_back(weft::spawn([](weft::semaphore& sem, std::atomic<int>& g) -> weft::task<void> {
                co_await sem.acquire();
                g.fetch_add(1);
            }(s, got)));
            co_await weft::yield();  // let it queue: waiters are served in arrival order
        }
        CHECK(got.load() == 0);
        s.release(2);
        co_await hs[0];
        co_await hs[1];
        CHECK(got.load() == 2);
        CHECK(s.available() == 0);
        s.release(5);  // one to the last waiter, four left over
        co_await hs[2];
        CHECK(got.load() == 3);
        CHECK(s.available() == 4);
        s.release(0);
        CHECK(s.available() == 4);
        CHECK_THROWS_AS(s.release(weft::semaphore::max_permits), weft::usage_error);
    }());
}

// --- event and wait_group ------------------------------------------------------

namespace {

// Notes its arrival, waits (on one worker nothing runs in between), notes its turn.
template <class Wait>
weft::task<void> record_after(Wait wait, std::vector<int>& arrived, std::vector<int>& ran, int i) {
    arrived.push_back(i);
    co_await wait();
    ran.push_back(i);
}

struct arrival_and_run {
    std::vector<int> arrived;
    std::vector<int> ran;
};

}  // namespace

TEST_CASE("semaphore release(k) and event set() run their waiters in arrival order", "[sync]") {
    // One worker, so arrival and running order are the worker's alone. Four
    // waiters fit a small_queues build's local queue (LIFO slot and 3 of its 4
    // slots): an overflow to the injector would reorder them.
    weft::runtime rt(weft_test::make_config(1));
    const auto run = [&rt](bool use_event) {
        return rt.block_on([](bool ev) -> weft::task<arrival_and_run> {
            weft::semaphore s(0);
            weft::event e;
            arrival_and_run order;
            std::vector<weft::join_handle<void>> waiters;
            for (int i = 0; i < 4; ++i) {
                if (ev)
                    waiters.push_back(weft::spawn(record_after([&e] { return e.wait(); }, order.arrived, order.ran, i)));
                else
                    waiters.push_back(weft::spawn(record_after([&s] { return s.acquire(); }, order.arrived, order.ran, i)));
            }
            while (order.arrived.size() < 4) co_await weft::yield();
            if (ev)
                e.set();
            else
                s.release(4);
            for (auto& w : waiters) co_await w;
            co_return order;
        }(use_event));
    };
    const arrival_and_run sem = run(false);
    REQUIRE(sem.arrived.size() == 4);
    CHECK(sem.ran == sem.arrived);
    const arrival_and_run event = run(true);
    REQUIRE(event.arrived.size() == 4);
    CHECK(event.ran == event.arrived);
}

TEST_CASE("event: set wakes every waiter; reset makes later waits suspend", "[sync][stress]") {
    weft::runtime rt(two_workers());
    const int waiters = weft_test::scaled(2000);
    std::atomic<int> woken{0};
    rt.block_on([](int n, std::atomic<int>& w) -> weft::task<void> {
        weft::event e;
        CHECK_FALSE(e.is_set());
        std::vector<weft::join_handle<void>> hs;
        for (int i = 0; i < n; ++i)
            hs.push_back(weft::spawn([](weft::event& ev, std::atomic<int>& c) -> weft::task<void> {
                co_await ev.wait();
                c.fetch_add(1);
            }(e, w)));
        co_await weft::sleep_for(1ms);
        CHECK(w.load() == 0);
        e.set();
        e.set();  // idempotent
        for (auto& h : hs) co_await h;
        CHECK(e.is_set());
        co_await e.wait();  // passes at once
        e.reset();
        CHECK_FALSE(e.is_set());
        const bool passed = co_await weft::timeout(2ms, [](weft::event& ev) -> weft::task<void> {
            co_await ev.wait();
        }(e));
        CHECK_FALSE(passed);
    }(waiters, woken));
    CHECK(woken.load() == waiters);
}

TEST_CASE("event: set from a thread that is not a worker wakes the waiters", "[sync]") {
    weft::runtime rt(two_workers());
    weft::event e;
    std::atomic<int> woken{0};
    std::vector<weft::join_handle<void>> hs;
    for (int i = 0; i < 10; ++i)
        hs.push_back(rt.spawn([](weft::event& ev, std::atomic<int>& c) -> weft::task<void> {
            co_await ev.wait();
            c.fetch_add(1);
        }(e, woken)));
    e.set();
    for (auto& h : hs) rt.block_on(std::move(h));
    CHECK(woken.load() == 10);
}

TEST_CASE("event: a set() from another thread may end block_on and the runtime while it is still waking", "[sync][stress]") {
    // The setter resumes the only task, block_on returns, and the runtime is
    // destroyed while set() may still be notifying a worker: the destructor must
    // wait for it (ASAN/TSAN would see the use after free).
    for (int round = 0; round < weft_test::scaled(300); ++round) {
        weft::event e;
        std::thread setter;
        {
            weft::runtime rt(two_workers());
            setter = std::thread([&e] { e.set(); });
            rt.block_on([](weft::event& ev) -> weft::task<void> { co_await ev.wait(); }(e));
        }
        setter.join();
    }
    SUCCEED("no use of a destroyed runtime");
}

TEST_CASE("event and wait_group: a waiter that sees the change may destroy the primitive while the setter returns",
          "[sync][stress]") {
    // The setter runs on the other worker (stolen while the waiter spins); the
    // waiter sees the event set or the count at zero at once, passes its wait on
    // the fast path and frees the primitive. Before the fix set() and the last
    // done() changed the atomic first and took the primitive's guard after, on
    // freed memory (ASAN: heap-use-after-free; TSAN: a race with the delete).
    weft::runtime rt(two_workers());
    const int rounds = weft_test::scaled(2000);
    const int passed = rt.block_on([](int n) -> weft::task<int> {
        int ok = 0;
        for (int round = 0; round < n; ++round) {
            // The setter gets a raw reference, as users write it; should the spin
            // time out (a failure), the primitive is leaked, not freed under it.
            auto e = std::make_unique<weft::event>();
            weft::spawn([](weft::event& ev) -> weft::task<void> {
                ev.set();
                co_return;
            }(*e))
                .detach();
            if (!weft_test::spin_until([&] { return e->is_set(); })) {
                (void)e.release();
                break;
            }
            co_await e->wait();
            e.reset();

            auto wg = std::make_unique<weft::wait_group>();
            wg->add(1);
            weft::spawn([](weft::wait_group& g) -> weft::task<void> {
                g.done();
                co_return;
            }(*wg))
                .detach();
            if (!weft_test::spin_until([&] { return wg->count() == 0; })) {
                (void)wg.release();
                break;
            }
            co_await wg->wait();
            wg.reset();
            ++ok;
        }
        co_return ok;
    }(rounds));
    CHECK(passed == rounds);
}

TEST_CASE("event: a set() from another thread that wakes several tasks may end the runtime while it wakes the rest",
          "[sync][stress]") {
    // The setter takes every waiter off the list, then wakes them one by one:
    // block_on's root, woken first, may return, and the runtime's destructor
    // destroy the detached waiters while the setter still wakes them. The
    // destructor must wait for the setter, or the setter leave alone the waiters
    // of a runtime that is stopping. Before the fix TSAN reported the race in 5
    // of 5 runs.
    for (int round = 0; round < weft_test::scaled(300); ++round) {
        weft::event e;
        std::thread setter;
        {
            weft::runtime rt(two_workers());
            rt.block_on([](weft::event& ev) -> weft::task<void> {
                for (int i = 0; i < 4; ++i)
                    weft::spawn([](weft::event& v) -> weft::task<void> { co_await v.wait(); }(ev)).detach();
                co_await weft::yield();  // let them queue
                co_return;
            }(e));
            // The detached waiters queue before or after this root, as it happens:
            // when after, the setter wakes the root first.
            setter = std::thread([&e] { e.set(); });
            rt.block_on([](weft::event& ev) -> weft::task<void> { co_await ev.wait(); }(e));
        }
        setter.join();
    }
    SUCCEED("no use of a destroyed frame or runtime");
}

TEST_CASE("wait_group: wait returns once every done() arrived; too many done() is an error", "[sync]") {
    weft::runtime rt(two_workers());
    std::atomic<int> finished{0};
    rt.block_on([](std::atomic<int>& f) -> weft::task<void> {
        weft::wait_group wg;
        co_await wg.wait();  // zero: passes at once
        wg.add(50);
        for (int i = 0; i < 50; ++i)
            weft::spawn([](weft::wait_group& g, std::atomic<int>& c, int i) -> weft::task<void> {
                co_await weft::sleep_for(std::chrono::microseconds(100 * (i % 7)));
                c.fetch_add(1);
                g.done();
            }(wg, f, i))
                .detach();
        co_await wg.wait();
        CHECK(f.load() == 50);
        CHECK(wg.count() == 0);
        CHECK_THROWS_AS(wg.done(), weft::usage_error);
        CHECK(wg.count() == 0);
    }(finished));
}

// --- channel -------------------------------------------------------------------

struct tally {
    std::atomic<std::uint64_t> sum{0};
    std::atomic<std::uint64_t> count{0};
    std::unique_ptr<std::atomic<int>[]> seen;
    explicit tally(std::size_t n) : seen(new std::atomic<int>[n]) {
        for (std::size_t i = 0; i < n; ++i) seen[i].store(0);
    }
};

weft::task<void> produce(weft::channel<std::uint64_t>& ch, std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t v = from; v < to; ++v) co_await ch.send(v);
}

weft::task<void> consume(weft::channel<std::uint64_t>& ch, tally& t) {
    while (std::optional<std::uint64_t> v = co_await ch.recv()) {
        t.sum.fetch_add(*v);
        t.count.fetch_add(1);
        t.seen[*v].fetch_add(1);
    }
}

TEST_CASE("channel: 4 producers and 3 consumers move every item exactly once", "[sync][stress]") {
    const std::uint64_t per_producer = weft_test::scaled(std::uint64_t{25000});
    const std::uint64_t n = 4 * per_producer;
    for (std::size_t capacity : {std::size_t{1}, std::size_t{7}, std::size_t{256}}) {
        INFO("capacity " << capacity);
        weft::runtime rt(two_workers());
        tally t(n);
        rt.block_on([](std::size_t cap, std::uint64_t per, tally& tl) -> weft::task<void> {
            weft::channel<std::uint64_t> ch(cap);
            std::vector<weft::join_handle<void>> producers;
            std::vector<weft::join_handle<void>> consumers;
            for (int c = 0; c < 3; ++c) consumers.push_back(weft::spawn(consume(ch, tl)));
            for (std::uint64_t p = 0; p < 4; ++p) producers.push_back(weft::spawn(produce(ch, p * per, (p + 1) * per)));
            for (auto& h : producers) co_await h;
            ch.close();
            for (auto& h : consumers) co_await h;
        }(capacity, per_producer, t));
        CHECK(t.count.load() == n);
        CHECK(t.sum.load() == n * (n - 1) / 2);
        std::uint64_t wrong = 0;
        for (std::uint64_t i = 0; i < n; ++i) wrong += t.seen[i].load() != 1;
        CHECK(wrong == 0);
    }
}

TEST_CASE("channel: close drains, then ends receivers; senders get channel_closed", "[sync]") {
    CHECK_THROWS_AS(weft::channel<int>(0), weft::usage_error);
    weft::runtime rt(weft::config{.workers = 1});
    rt.block_on([]() -> weft::task<void> {
        weft::channel<std::string> ch(2);
        CHECK(ch.capacity() == 2);
        co_await ch.send("a");
        std::string b = "b";
        CHECK(ch.try_send(b));
        std::string c = "c";
        CHECK_FALSE(ch.try_send(c));  // full: c stays ours
        CHECK(c == "c");
        CHECK(ch.size() == 2);
        // A sender blocked on the full channel gets channel_closed at close().
        auto blocked = weft::spawn([](weft::channel<std::string>& chan) -> weft::task<void> {
            co_await chan.send("never");
        }(ch));
        co_await weft::yield();
        ch.close();
        CHECK(ch.is_closed());
        CHECK_THROWS_AS(co_await blocked, weft::channel_closed);
        CHECK_THROWS_AS(co_await ch.send("late"), weft::channel_closed);
        CHECK_THROWS_AS(ch.try_send(c), weft::channel_closed);
        const std::optional<std::string> a = co_await ch.recv();
        CHECK(a == std::optional<std::string>("a"));
        CHECK(ch.try_recv() == std::optional<std::string>("b"));
        const std::optional<std::string> end = co_await ch.recv();
        CHECK_FALSE(end.has_value());
        CHECK_FALSE(ch.try_recv().has_value());
    }());
}

TEST_CASE("channel: a receiver waiting on an empty channel ends at close", "[sync]") {
    weft::runtime rt(two_workers());
    rt.block_on([]() -> weft::task<void> {
        weft::channel<int> ch(4);
        auto r = weft::spawn([](weft::channel<int>& chan) -> weft::task<int> {
            int got = 0;
            while (auto v = co_await chan.recv()) got += *v;
            co_return got;
        }(ch));
        co_await ch.send(20);
        co_await ch.send(22);
        co_await weft::sleep_for(1ms);
        ch.close();
        const int sum = co_await r;
        CHECK(sum == 42);
    }());
}

TEST_CASE("channel: items() is an async range over what is received", "[sync]") {
    weft::runtime rt(two_workers());
    const int total = rt.block_on([]() -> weft::task<int> {
        weft::channel<int> ch(3);
        auto p = weft::spawn([](weft::channel<int>& chan) -> weft::task<void> {
            for (int i = 1; i <= 100; ++i) co_await chan.send(i);
            chan.close();
        }(ch));
        auto items = ch.items();
        int sum = 0;
        while (auto v = co_await items.next()) sum += *v;
        co_await p;
        co_return sum;
    }());
    CHECK(total == 5050);
}

TEST_CASE("channel: cancelled sends and receives take or give nothing", "[sync]") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    rt.block_on([]() -> weft::task<void> {
        weft::channel<int> ch(1);
        // Nothing to receive: the receive is cancelled and takes nothing later.
        auto got = co_await weft::timeout(2ms, [](weft::channel<int>& c) -> weft::task<std::optional<int>> {
            co_return co_await c.recv();
        }(ch));
        CHECK_FALSE(got.has_value());
        co_await ch.send(1);
        // Full: the send is cancelled and its value never arrives.
        const bool sent = co_await weft::timeout(2ms, [](weft::channel<int>& c) -> weft::task<void> {
            co_await c.send(2);
        }(ch));
        CHECK_FALSE(sent);
        CHECK(ch.size() == 1);
        const std::optional<int> one = co_await ch.recv();
        CHECK(one == std::optional<int>(1));
        CHECK_FALSE(ch.try_recv().has_value());
    }());
}

weft::task<void> echo_back(weft::channel<int>& in, weft::channel<int>& out) {
    while (std::optional<int> v = co_await in.recv()) co_await out.send(*v);
}

// A value whose move constructor is not noexcept, and throws on the
// `throw_on`-th move from now (0: never). One worker touches it at a time.
struct fragile {
    static inline int throw_on = 0;
    int v = 0;
    explicit fragile(int x) noexcept : v(x) {}
    fragile(fragile&& o) : v(o.v) {
        if (throw_on > 0 && --throw_on == 0) throw std::runtime_error("fragile: move failed");
    }
    fragile& operator=(fragile&&) = delete;
};

weft::task<int> receive_fragile(weft::channel<fragile>& ch) {
    std::optional<fragile> got = co_await ch.recv();
    co_return got ? got->v : -1;
}

// The send's exception text, or "" if it went through.
weft::task<std::string> send_fragile(weft::channel<fragile>& ch, int v) {
    try {
        co_await ch.send(fragile(v));
    } catch (const std::runtime_error& e) {
        co_return e.what();
    }
    co_return "";
}

TEST_CASE("channel: a value whose move throws fails the call that moved it, and no other value is lost", "[sync]") {
    fragile::throw_on = 0;
    weft::runtime rt(weft::config{.workers = 1});
    rt.block_on([]() -> weft::task<void> {
        {
            // A receiver waits; the hand-off to it throws: the send fails, the
            // receiver keeps waiting and takes the next value.
            weft::channel<fragile> ch(1);
            weft::join_handle<int> receiver = weft::spawn(receive_fragile(ch));
            co_await weft::yield();  // one worker: the receiver waits now
            auto send = ch.send(fragile(1));
            fragile::throw_on = 1;
            CHECK_THROWS_WITH(co_await send, "fragile: move failed");
            CHECK(ch.size() == 0);
            co_await ch.send(fragile(2));
            const int received = co_await receiver;
            CHECK(received == 2);
        }
        {
            // Full, two senders wait; a receive takes the buffered value, and
            // moving the first sender's value into the freed place throws: the
            // receive still returns its value, that send fails, and the second
            // sender's value takes the place.
            weft::channel<fragile> ch(1);
            co_await ch.send(fragile(1));
            weft::join_handle<std::string> sender = weft::spawn(send_fragile(ch, 2));
            co_await weft::yield();  // one worker: the sender waits now
            weft::join_handle<std::string> next_sender = weft::spawn(send_fragile(ch, 3));
            co_await weft::yield();  // and the next one behind it
            fragile::throw_on = 2;  // out of the buffer: fine; the first sender's value: throws
            std::optional<fragile> got = co_await ch.recv();
            REQUIRE(got.has_value());
            CHECK(got->v == 1);
            const std::string send_error = co_await sender;
            CHECK(send_error == "fragile: move failed");
            const std::string next_send_error = co_await next_sender;
            CHECK(next_send_error.empty());
            CHECK(ch.size() == 1);
            const int third = co_await receive_fragile(ch);
            CHECK(third == 3);
            // Still usable.
            co_await ch.send(fragile(5));
            const int fifth = co_await receive_fragile(ch);
            CHECK(fifth == 5);
        }
        {
            // Moving the oldest value out throws: the receive fails, the value stays.
            weft::channel<fragile> ch(2);
            co_await ch.send(fragile(4));
            fragile::throw_on = 1;
            CHECK_THROWS_WITH(ch.try_recv(), "fragile: move failed");
            CHECK(ch.size() == 1);
            const int fourth = co_await receive_fragile(ch);
            CHECK(fourth == 4);
        }
        fragile::throw_on = 0;
    }());
}

TEST_CASE("channel: two tasks waking each other do not starve a task queued under them", "[sync]") {
    // One worker. A sync wake puts the woken task in the worker's LIFO slot, so a
    // ping-pong pair would run there forever, above the task spawned before it;
    // the worker must give the deque a turn now and then.
    constexpr int rounds = 10000;
    weft::runtime rt(weft::config{.workers = 1});
    const int ran_at = rt.block_on([]() -> weft::task<int> {
        int round = 0;
        int seen_round = -1;
        auto queued = weft::spawn([](int& seen, const int& r) -> weft::task<void> {
            seen = r;
            co_return;
        }(seen_round, round));
        weft::channel<int> ping(1), pong(1);
        auto echo = weft::spawn(echo_back(ping, pong));
        for (; round < rounds && seen_round < 0; ++round) {
            co_await ping.send(round);
            (void)co_await pong.recv();
        }
        ping.close();
        co_await echo;
        co_await queued;
        co_return seen_round;
    }());
    CHECK(ran_at >= 0);
    CHECK(ran_at < rounds);  // it ran while the pair was still exchanging
}

// --- when_any --------------------------------------------------------------------

weft::task<int> after(std::chrono::milliseconds d, int v) {
    co_await weft::sleep_for(d);
    co_return v;
}

weft::task<void> ticker(std::atomic<int>& ticks) {
    for (;;) {
        co_await weft::sleep_for(1ms);
        ticks.fetch_add(1);
    }
}

TEST_CASE("when_any: the first to finish wins; the losers are cancelled and joined", "[sync]") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    weft_test::lifetime_counts frames;
    std::atomic<int> ticks{0};
    auto [index, value] = rt.block_on(
        weft::when_any(after(60s, 1), after(5ms, 2), ticker(ticks),
                       [](weft_test::lifetime_counts& c) -> weft::task<std::string> {
                           weft_test::counted alive(c);
                           co_await weft::sleep_for(60s);
                           co_return "late";
                       }(frames)));
    CHECK(index == 1);
    REQUIRE(value.index() == 1);
    CHECK(std::get<1>(value) == 2);
    // Joined: the losers' frames are gone and the ticker stopped.
    CHECK(frames.constructed.load() == 1);
    CHECK(frames.live() == 0);
    const int stopped_at = ticks.load();
    std::this_thread::sleep_for(20ms);
    CHECK(ticks.load() == stopped_at);
}

TEST_CASE("when_any: a winner's exception is rethrown; void becomes monostate", "[sync]") {
    weft::runtime rt(two_workers());
    CHECK_THROWS_AS(rt.block_on(weft::when_any(after(60s, 1), []() -> weft::task<int> {
                        throw weft_test::test_error("first");
                        co_return 0;
                    }())),
                    weft_test::test_error);
    auto r = rt.block_on(weft::when_any([]() -> weft::task<void> { co_return; }(), after(60s, 3)));
    CHECK(r.first == 0);
    CHECK(std::holds_alternative<std::monostate>(r.second));
    auto same = rt.block_on(weft::when_any(after(60s, 1), after(1ms, 2)));
    CHECK(same.first == 1);
    CHECK(same.second.index() == 1);
    CHECK(std::get<1>(same.second) == 2);
}

TEST_CASE("when_any: losers waiting on sync primitives are cancelled too", "[sync]") {
    weft::runtime rt(two_workers());
    rt.block_on([]() -> weft::task<void> {
        weft::event never;
        weft::mutex m;
        auto held = co_await m.lock();
        weft::channel<int> empty(1);
        weft::semaphore none(0);
        auto r = co_await weft::when_any(
            [](weft::event& e) -> weft::task<void> { co_await e.wait(); }(never),
            [](weft::mutex& mx) -> weft::task<void> { auto g = co_await mx.lock(); }(m),
            [](weft::channel<int>& c) -> weft::task<std::optional<int>> { co_return co_await c.recv(); }(empty),
            [](weft::semaphore& s) -> weft::task<void> { co_await s.acquire(); }(none),
            []() -> weft::task<int> {
                co_await weft::sleep_for(2ms);
                co_return 7;
            }());
        CHECK(r.first == 4);
        CHECK(std::get<4>(r.second) == 7);
        held.unlock();
        CHECK_FALSE(m.is_locked());
        CHECK(none.available() == 0);
        CHECK(empty.size() == 0);
    }());
}

// --- awaiters that are not tasks, given straight to timeout / when_all / when_any --

TEST_CASE("timeout and when_any take sync awaiters directly; a cancelled one takes nothing", "[sync]") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    rt.block_on([]() -> weft::task<void> {
        weft::channel<int> ch(1);
        const std::optional<std::optional<int>> nothing = co_await weft::timeout(2ms, ch.recv());
        CHECK_FALSE(nothing.has_value());
        co_await ch.send(7);  // the cancelled receive must not have taken it
        const std::optional<std::optional<int>> seven = co_await weft::timeout(10s, ch.recv());
        REQUIRE(seven.has_value());
        CHECK(*seven == std::optional<int>(7));

        weft::mutex m;
        {
            auto held = co_await m.lock();
            const std::optional<weft::mutex::guard> late = co_await weft::timeout(2ms, m.lock());
            CHECK_FALSE(late.has_value());
        }
        CHECK_FALSE(m.is_locked());
        const std::optional<weft::mutex::guard> got = co_await weft::timeout(10s, m.lock());
        CHECK(got.has_value());
        CHECK(m.is_locked());

        weft::event e;
        const bool early = co_await weft::timeout(2ms, e.wait());
        CHECK_FALSE(early);
        e.set();
        const bool set = co_await weft::timeout(10s, e.wait());
        CHECK(set);

        weft::semaphore s(0);
        const bool none = co_await weft::timeout(2ms, s.acquire());
        CHECK_FALSE(none);
        s.release();
        const bool one = co_await weft::timeout(10s, s.acquire());
        CHECK(one);
        CHECK(s.available() == 0);

        weft::wait_group wg;
        wg.add(1);
        const bool waited = co_await weft::timeout(2ms, wg.wait());
        CHECK_FALSE(waited);
        wg.done();
        const bool done = co_await weft::timeout(10s, wg.wait());
        CHECK(done);

        const bool yielded = co_await weft::timeout(10s, weft::yield());
        CHECK(yielded);

        // when_any: the receive loses to the task, is cancelled, and takes nothing.
        auto race = co_await weft::when_any(after(1ms, 9), ch.recv());
        CHECK(race.first == 0);
        CHECK(std::get<0>(race.second) == 9);
        co_await ch.send(6);
        const std::optional<int> six = co_await ch.recv();
        CHECK(six == std::optional<int>(6));
        // ... and wins against a task that sleeps.
        co_await ch.send(5);
        auto won = co_await weft::when_any(after(10s, 1), ch.recv());
        CHECK(won.first == 1);
        CHECK(std::get<1>(won.second) == std::optional<int>(5));
    }());
}

TEST_CASE("when_all mixes tasks with other awaitables and nests; timeout takes a when_all", "[sync]") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    rt.block_on([]() -> weft::task<void> {
        weft::channel<int> ch(1);
        co_await ch.send(5);
        auto [a, b] = co_await weft::when_all(after(1ms, 3), ch.recv());
        CHECK(a == 3);
        CHECK(b == std::optional<int>(5));

        weft::event e;
        e.set();
        auto [x, inner] = co_await weft::when_all(after(0ms, 4), weft::when_all(after(1ms, 5), e.wait()));
        CHECK(x == 4);
        CHECK(std::get<0>(inner) == 5);

        const auto both = co_await weft::timeout(10s, weft::when_all(after(1ms, 1), after(0ms, 2)));
        REQUIRE(both.has_value());
        CHECK(*both == std::tuple<int, int>(1, 2));
        // The deadline cancels every child of the when_all.
        const auto late = co_await weft::timeout(2ms, weft::when_all(after(10s, 1), ch.recv()));
        CHECK_FALSE(late.has_value());
        co_await ch.send(8);  // the cancelled receive must not have taken it
        const std::optional<int> eight = co_await ch.recv();
        CHECK(eight == std::optional<int>(8));
    }());
    // block_on and spawn take awaiters that are not tasks too.
    rt.block_on(weft::yield());
    weft::event go;
    weft::join_handle<void> waiter = rt.spawn(go.wait());
    go.set();
    rt.block_on(std::move(waiter));
}

// --- join_handle::cancel ---------------------------------------------------------

TEST_CASE("join_handle::cancel stops a sleeping loop; awaiting it throws cancelled", "[sync]") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    std::atomic<int> ticks{0};
    rt.block_on([](std::atomic<int>& t) -> weft::task<void> {
        auto h = weft::spawn(ticker(t));
        while (t.load() < 3) co_await weft::sleep_for(1ms);
        h.cancel();
        CHECK_THROWS_AS(co_await h, weft::cancelled);
    }(ticks));
    const int stopped_at = ticks.load();
    std::this_thread::sleep_for(20ms);
    CHECK(ticks.load() == stopped_at);
}

TEST_CASE("join_handle::cancel reaches sync waits, busy loops and nested tasks", "[sync]") {
    weft::runtime rt(two_workers());
    rt.block_on([]() -> weft::task<void> {
        weft::event never;
        auto waiting = weft::spawn([](weft::event& e) -> weft::task<void> { co_await e.wait(); }(never));
        auto busy = weft::spawn([]() -> weft::task<void> {
            for (;;) co_await weft::yield();
        }());
        auto nested = weft::spawn([]() -> weft::task<int> {
            co_return co_await []() -> weft::task<int> {
                co_await weft::sleep_for(60s);
                co_return 1;
            }();
        }());
        // A task that catches the cancellation finishes normally.
        auto catching = weft::spawn([]() -> weft::task<int> {
            try {
                co_await weft::sleep_for(60s);
            } catch (const weft::cancelled&) {
                co_return 5;
            }
            co_return 0;
        }());
        co_await weft::sleep_for(2ms);
        waiting.cancel();
        busy.cancel();
        nested.cancel();
        catching.cancel();
        CHECK_THROWS_AS(co_await waiting, weft::cancelled);
        CHECK_THROWS_AS(co_await busy, weft::cancelled);
        CHECK_THROWS_AS(co_await nested, weft::cancelled);
        const int caught = co_await catching;
        CHECK(caught == 5);
        // Cancelling a finished task changes nothing.
        auto done = weft::spawn([]() -> weft::task<int> { co_return 9; }());
        co_await weft::sleep_for(1ms);
        done.cancel();
        const int nine = co_await done;
        CHECK(nine == 9);
        weft::join_handle<int> empty;
        empty.cancel();
    }());
}

namespace {

// Without a cancellation it would sleep for a minute and give 5.
weft::task<int> sleeps_a_minute() {
    co_await weft::sleep_for(60s);
    co_return 5;
}

weft::task<int> await_handle(weft::join_handle<int> h) { co_return co_await h; }

// Counts the cancellations it caught, then gives 7.
weft::task<int> catches_cancel(std::atomic<int>& caught) {
    try {
        co_await weft::sleep_for(60s);
    } catch (const weft::cancelled&) {
        caught.fetch_add(1);
    }
    co_return 7;
}

}  // namespace

TEST_CASE("awaiting a join_handle passes a cancellation on to the awaited task", "[sync]") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    std::atomic<int> caught{0};
    rt.block_on([](std::atomic<int>& c) -> weft::task<void> {
        // cancel() on the awaiting task's handle.
        auto outer = weft::spawn(await_handle(weft::spawn(sleeps_a_minute())));
        co_await weft::sleep_for(2ms);
        outer.cancel();
        CHECK_THROWS_AS(co_await outer, weft::cancelled);

        // timeout around the handle itself, and around a task awaiting one.
        const std::optional<int> direct = co_await weft::timeout(5ms, weft::spawn(sleeps_a_minute()));
        CHECK_FALSE(direct.has_value());
        const std::optional<int> nested = co_await weft::timeout(5ms, await_handle(weft::spawn(sleeps_a_minute())));
        CHECK_FALSE(nested.has_value());

        // when_any: the loser awaiting a handle is cancelled and joined.
        const auto [index, result] = co_await weft::when_any(weft::sleep_for(2ms), await_handle(weft::spawn(sleeps_a_minute())));
        CHECK(index == 0);

        // A scope cancelled before the await: the cancellation still passes on.
        auto late = weft::spawn([]() -> weft::task<int> {
            auto h = weft::spawn(sleeps_a_minute());
            for (;;) {
                try {
                    co_await weft::yield();
                } catch (const weft::cancelled&) {
                    break;  // our scope is cancelled now; await the handle under it
                }
            }
            co_return co_await h;
        }());
        co_await weft::sleep_for(1ms);
        late.cancel();
        CHECK_THROWS_AS(co_await late, weft::cancelled);

        // An awaited task that catches the cancellation gives its value.
        const std::optional<int> kept = co_await weft::timeout(5ms, weft::spawn(catches_cancel(c)));
        REQUIRE(kept.has_value());
        CHECK(*kept == 7);
    }(caught));
    CHECK(caught.load() == 1);
}

namespace {

// Two tasks that each await the other's handle under a timeout: a cycle of joins
// that never ends. When a deadline passes, the cancellation goes round the cycle
// back to the scope its canceller holds.
struct handle_cycle {
    weft::event ready;
    weft::join_handle<void> a;
    weft::join_handle<void> b;
};

weft::task<void> await_other(handle_cycle& c, bool first) {
    co_await c.ready.wait();
    (void)co_await weft::timeout(std::chrono::milliseconds(first ? 2 : 3), std::move(first ? c.b : c.a));
}

}  // namespace

TEST_CASE("shutdown destroys tasks suspended awaiting join handles inside when_any and task_group", "[sync]") {
    const std::int64_t frames_before = weft_test::live_frames();
    {
        weft::runtime rt(two_workers());
        rt.block_on([]() -> weft::task<void> {
            // Each awaits a handle of a task that never ends, inside a scope of
            // its parent's (the when_any's race, the group's): destroying them
            // at shutdown must take the awaits out of those scopes first.
            weft::spawn([]() -> weft::task<void> {
                auto endless = weft::spawn(weft::sleep_for(1h));
                (void)co_await weft::when_any(weft::sleep_for(1h), std::move(endless));
            }()).detach();
            weft::spawn([]() -> weft::task<void> {
                weft::task_group g;
                g.spawn([]() -> weft::task<void> { co_await weft::spawn(weft::sleep_for(1h)); }());
                co_await g.join();
            }()).detach();
            co_await weft::sleep_for(5ms);
        }());
    }
    CHECK(weft_test::live_frames() == frames_before);
}

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_LEAKS_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_TEST_LEAKS_CHECKED 1
#endif
#endif

TEST_CASE("a cancellation that goes round a cycle of awaited handles ends", "[sync]") {
#ifdef WEFT_TEST_LEAKS_CHECKED
    WARN("skipped under AddressSanitizer: the cycle's two frames are leaked on purpose");
    return;
#endif
    // Before the fix a worker spun for good on the lock of the scope it was
    // cancelling, and the runtime's shutdown waited for it; the watchdog turns
    // that into a failure. The two tasks never finish (each joins the other):
    // their frames are the user's cycle, not the runtime's to free.
    weft_test::watchdog guard("cancellation round a cycle of join handles", std::chrono::seconds(60));
    handle_cycle c;
    {
        weft::runtime rt(two_workers());
        rt.block_on([](handle_cycle& cyc) -> weft::task<void> {
            cyc.a = weft::spawn(await_other(cyc, true));
            cyc.b = weft::spawn(await_other(cyc, false));
            cyc.ready.set();
            co_await weft::sleep_for(20ms);  // both deadlines pass meanwhile
        }(c));
    }
    SUCCEED("the runtime shut down");
}

// --- task_group ------------------------------------------------------------------

TEST_CASE("task_group: join waits for every task", "[sync]") {
    weft::runtime rt(two_workers());
    std::atomic<int> done{0};
    rt.block_on([](std::atomic<int>& d) -> weft::task<void> {
        weft::task_group g;
        for (int i = 0; i < 100; ++i)
            g.spawn([](std::atomic<int>& c, int i) -> weft::task<int> {
                co_await weft::sleep_for(std::chrono::microseconds(50 * (i % 5)));
                c.fetch_add(1);
                co_return i;
            }(d, i));
        co_await g.join();
        CHECK(d.load() == 100);
        CHECK(g.size() == 0);
    }(done));
}

TEST_CASE("task_group: the first error cancels the others and is rethrown after they finish", "[sync]") {
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    weft::runtime rt(cfg);
    std::atomic<int> cancelled_seen{0};
    std::atomic<int> finished{0};
    rt.block_on([](std::atomic<int>& cs, std::atomic<int>& fin) -> weft::task<void> {
        weft::task_group g;
        for (int i = 0; i < 10; ++i)
            g.spawn([](std::atomic<int>& c, std::atomic<int>& f) -> weft::task<void> {
                try {
                    co_await weft::sleep_for(60s);
                } catch (const weft::cancelled&) {
                    c.fetch_add(1);
                    f.fetch_add(1);
                    throw;
                }
            }(cs, fin));
        g.spawn([]() -> weft::task<void> {
            co_await weft::sleep_for(2ms);
            throw weft_test::test_error("boom");
        }());
        CHECK_THROWS_WITH(co_await g.join(), "boom");
        CHECK(fin.load() == 10);  // all finished before join rethrew
    }(cancelled_seen, finished));
    CHECK(cancelled_seen.load() == 10);
}

TEST_CASE("task_group: cancelling the joiner cancels the group and still joins it", "[sync]") {
    weft::runtime rt(two_workers());
    std::atomic<int> finished{0};
    rt.block_on([](std::atomic<int>& fin) -> weft::task<void> {
        const bool completed = co_await weft::timeout(3ms, [](std::atomic<int>& f) -> weft::task<void> {
            weft::task_group g;
            for (int i = 0; i < 5; ++i)
                g.spawn([](std::atomic<int>& c) -> weft::task<void> {
                    struct on_exit {
                        std::atomic<int>& c;
                        ~on_exit() { c.fetch_add(1); }
                    } mark{c};
                    co_await weft::sleep_for(60s);
                }(f));
            co_await g.join();
        }(fin));
        CHECK_FALSE(completed);
        CHECK(fin.load() == 5);
    }(finished));
}

TEST_CASE("task_group: after cancel(), join throws cancelled even when no task saw it", "[sync]") {
    weft::runtime rt(two_workers());
    rt.block_on([]() -> weft::task<void> {
        // A task that never suspends ends normally however it is cancelled.
        weft::task_group quiet;
        std::atomic<int> ran{0};
        for (int i = 0; i < 3; ++i)
            quiet.spawn([](std::atomic<int>& r) -> weft::task<void> {
                r.fetch_add(1);
                co_return;
            }(ran));
        quiet.cancel();
        CHECK_THROWS_AS(co_await quiet.join(), weft::cancelled);
        CHECK(quiet.size() == 0);

        // A sleeper sees the cancellation; the result is the same.
        weft::task_group sleepers;
        sleepers.spawn([]() -> weft::task<void> { co_await weft::sleep_for(60s); }());
        sleepers.cancel();
        CHECK_THROWS_AS(co_await sleepers.join(), weft::cancelled);

        // A failure that came before the cancel is what join() reports.
        weft::task_group failed;
        failed.spawn([]() -> weft::task<void> {
            throw std::runtime_error("first");
            co_return;
        }());
        while (failed.size() != 0) co_await weft::yield();
        failed.cancel();
        CHECK_THROWS_WITH(co_await failed.join(), "first");

        // Not cancelled: join returns normally.
        weft::task_group fine;
        fine.spawn([]() -> weft::task<void> { co_return; }());
        co_await fine.join();
    }());
}

TEST_CASE("task_group: cancel() from a plain thread cancels the group's tasks", "[sync]") {
    weft::runtime rt(two_workers());
    std::thread canceller;
    const bool cancelled = rt.block_on([](std::thread& t) -> weft::task<bool> {
        weft::task_group g;
        for (int i = 0; i < 3; ++i) g.spawn([]() -> weft::task<void> { co_await weft::sleep_for(60s); }());
        t = std::thread([&g] { g.cancel(); });
        try {
            co_await g.join();
        } catch (const weft::cancelled&) {
            co_return true;
        }
        co_return false;
    }(canceller));
    canceller.join();
    CHECK(cancelled);
}

TEST_CASE("task_group: spawning into a group from tasks of two runtimes is a usage error", "[sync]") {
    weft::task_group g;
    weft::runtime first(weft::config{.workers = 1});
    weft::runtime second(weft::config{.workers = 1});
    first.block_on([](weft::task_group& grp) -> weft::task<void> {
        grp.spawn([]() -> weft::task<void> { co_return; }());
        co_await grp.join();
    }(g));
    try {
        second.block_on([](weft::task_group& grp) -> weft::task<void> {
            grp.spawn([]() -> weft::task<void> { co_return; }());
            co_return;
        }(g));
        FAIL("the second runtime's spawn was accepted");
    } catch (const weft::usage_error& e) {
        CHECK(std::string(e.what()).find("weft::task_group::spawn") != std::string::npos);
    }
    CHECK(g.size() == 0);
}

TEST_CASE("task_group: a group destroyed by the shutdown leaves its tasks to it", "[sync]") {
    // One detached task owns an event; another owns a group whose task waits on
    // it. The shutdown destroys frames in any order; the group's destructor must
    // not cancel its task into the event destroyed before it (ASAN). The handles
    // are detached in the order member, group owner, event owner: the order the
    // registry of detached tasks here (an unordered_set) destroys them is the
    // reverse, the order that reached the dead event before the fix.
    const std::int64_t frames_before = weft_test::live_frames();
    for (int round = 0; round < 4; ++round) {
        std::atomic<int> waiting{0};
        std::atomic<bool> group_detached{false};
        weft::runtime rt(two_workers());
        weft::join_handle<void> owner = rt.spawn([](std::atomic<int>& w, std::atomic<bool>& d) -> weft::task<void> {
            weft::event e;
            weft::join_handle<void> group_owner =
                weft::spawn([](weft::event& ev, std::atomic<int>& w2) -> weft::task<void> {
                    weft::task_group g;
                    g.spawn([](weft::event& ev2, std::atomic<int>& w3) -> weft::task<void> {
                        w3.fetch_add(1);
                        co_await ev2.wait();
                    }(ev, w2));
                    co_await g.join();
                }(e, w));
            while (w.load() == 0) co_await weft::yield();
            group_owner.detach();
            d.store(true);
            co_await weft::sleep_for(1h);  // the event stays in this frame
        }(waiting, group_detached));
        REQUIRE(weft_test::eventually([&] { return group_detached.load(); }));
        owner.detach();
        std::this_thread::sleep_for(1ms);  // to let the member queue, as a rule
    }
    CHECK(weft_test::live_frames() == frames_before);
}

// --- shutdown ------------------------------------------------------------------------

// A parent owns the mutex its spawned children use and awaits their handles (the
// usual layout of docs/sync.md). One child holds the lock across a long sleep.
weft::task<void> parent_of_lockers(weft_test::lifetime_counts& counts, std::atomic<int>& holding) {
    weft::mutex m;
    std::vector<weft::join_handle<void>> children;
    for (int i = 0; i < 4; ++i)
        children.push_back(weft::spawn([](weft::mutex& mx, weft_test::counted, std::atomic<int>& h) -> weft::task<void> {
            auto guard = co_await mx.lock();
            h.fetch_add(1);
            co_await weft::sleep_for(1h);
        }(m, weft_test::counted(counts), holding)));
    for (auto& c : children) co_await c;
}

TEST_CASE("shutdown destroys spawned children before the parent's locals they use", "[sync]") {
    // Shutdown destroys the parent's frame; its join handles' tasks must end
    // there, in the language's order (before the mutex, declared earlier), not
    // afterwards: the holder's guard unlocks the mutex as it goes, and the waiters
    // leave its list. Use-after-free otherwise (the ASAN build sees it).
    WEFT_FOR_EACH_BACKEND(cfg, 2);
    const std::int64_t frames_before = weft_test::live_frames();
    weft_test::lifetime_counts counts;
    std::atomic<int> holding{0};
    {
        weft::runtime rt(cfg);
        for (int p = 0; p < 8; ++p) rt.spawn(parent_of_lockers(counts, holding)).detach();
        REQUIRE(weft_test::eventually([&] { return holding.load() == 8; }));  // one holder per parent
        std::this_thread::sleep_for(2ms);
    }
    CHECK(counts.constructed.load() >= 32);  // every child was built
    CHECK(counts.live() == 0);
    CHECK(weft_test::live_frames() == frames_before);
}

TEST_CASE("shutdown with tasks waiting on every primitive leaves no frame behind", "[sync]") {
    const std::int64_t frames_before = weft_test::live_frames();
    weft_test::lifetime_counts counts;
    {
        weft::runtime rt(two_workers());
        auto m = std::make_shared<weft::mutex>();
        auto e = std::make_shared<weft::event>();
        auto ch = std::make_shared<weft::channel<weft_test::counted>>(1);
        auto s = std::make_shared<weft::semaphore>(0);
        REQUIRE(m->try_lock());
        for (int i = 0; i < 50; ++i) {
            rt.spawn([](std::shared_ptr<weft::mutex> mx, weft_test::counted) -> weft::task<void> {
                  auto g = co_await mx->lock();
              }(m, weft_test::counted(counts)))
                .detach();
            rt.spawn([](std::shared_ptr<weft::event> ev, weft_test::counted) -> weft::task<void> {
                  co_await ev->wait();
              }(e, weft_test::counted(counts)))
                .detach();
            rt.spawn([](std::shared_ptr<weft::channel<weft_test::counted>> c,
                        weft_test::counted v) -> weft::task<void> { co_await c->send(std::move(v)); }(
                         ch, weft_test::counted(counts)))
                .detach();
            rt.spawn([](std::shared_ptr<weft::semaphore> sem) -> weft::task<void> { co_await sem->acquire(); }(s))
                .detach();
        }
        REQUIRE(weft_test::eventually([&] { return ch->size() == 1; }));
        std::this_thread::sleep_for(5ms);
    }
    CHECK(counts.constructed.load() > 0);
    CHECK(counts.live() == 0);
    CHECK(weft_test::live_frames() == frames_before);
}

// The holder moves its guard into a task that unlocks, handing the mutex to the
// queued waiter, says so, then keeps the one worker busy while the runtime
// stops: the waiter, handed the mutex, is destroyed without having run.
weft::task<void> hand_off_at_shutdown(weft::mutex& m, std::atomic<bool>& unlocked) {
    auto g = co_await m.lock();
    weft::spawn([](weft::mutex& mx) -> weft::task<void> {
        auto mine = co_await mx.lock();
        co_await weft::sleep_for(1h);  // holds it until the shutdown destroys us
    }(m)).detach();
    co_await weft::yield();  // one worker: the waiter queues on the mutex now
    weft::spawn([](weft::mutex::guard held, std::atomic<bool>& done) -> weft::task<void> {
        held.unlock();  // hands it to the waiter
        done.store(true);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // meanwhile the runtime stops
        co_return;
    }(std::move(g), unlocked)).detach();
}

TEST_CASE("mutex: a waiter handed the mutex and destroyed at shutdown before it ran unlocks it", "[sync]") {
    // A mutex that outlives the runtime must not stay locked for the next one.
    weft::mutex m;
    std::atomic<bool> unlocked{false};
    {
        weft::runtime rt(weft::config{.workers = 1});
        rt.block_on(hand_off_at_shutdown(m, unlocked));
        REQUIRE(weft_test::eventually([&] { return unlocked.load(); }));
    }
    CHECK_FALSE(m.is_locked());
    // If the waiter did run (a slow host) it held the mutex until the shutdown
    // destroyed it with its guard: the mutex is free either way.
    weft::runtime next(weft::config{.workers = 1});
    CHECK(next.block_on([](weft::mutex& mx) -> weft::task<bool> {
        auto g = co_await weft::timeout(5s, mx.lock());
        co_return g.has_value();
    }(m)));
}

TEST_CASE("mutex: destroyed at shutdown before the waiter it was handed to", "[sync]") {
    // The mutex lives in a detached task's frame; which of the two frames the
    // shutdown destroys first is not fixed. The waiter must not unlock a mutex
    // that is gone (ASAN), nor leak.
    const std::int64_t frames_before = weft_test::live_frames();
    for (int round = 0; round < 4; ++round) {
        std::atomic<bool> unlocked{false};
        weft::runtime rt(weft::config{.workers = 1});
        rt.spawn([](std::atomic<bool>& u) -> weft::task<void> {
              weft::mutex m;
              co_await hand_off_at_shutdown(m, u);
              co_await weft::sleep_for(1h);  // the mutex stays in this frame
          }(unlocked))
            .detach();
        // The unlocker's guard is spent before the shutdown: no guard outlives
        // the mutex.
        REQUIRE(weft_test::eventually([&] { return unlocked.load(); }));
    }
    CHECK(weft_test::live_frames() == frames_before);
}

}  // namespace
