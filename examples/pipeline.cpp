// A small pipeline with weft's sync layer: producers feed a bounded channel,
// a task_group of workers drains it into a mutex-protected histogram, when_any
// races a slow lookup against a deadline, timeout bounds a channel receive, and
// join_handle::cancel stops a ticker.
// Prints the same lines on every run.
#include <weft/weft.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

weft::task<void> produce(weft::channel<int>& jobs, int from, int to) {
    for (int i = from; i < to; ++i) co_await jobs.send(i);  // waits while the channel is full
}

weft::task<void> work(weft::channel<int>& jobs, weft::mutex& m, std::array<int, 10>& histogram) {
    while (std::optional<int> job = co_await jobs.recv()) {  // empty once closed and drained
        auto guard = co_await m.lock();
        ++histogram[static_cast<std::size_t>(*job % 10)];
    }
}

weft::task<std::string> slow_lookup() {
    co_await weft::sleep_for(10s);
    co_return "found";
}

weft::task<std::string> deadline(std::chrono::milliseconds d) {
    co_await weft::sleep_for(d);
    co_return "gave up";
}

weft::task<void> ticker(int& ticks) {
    for (;;) {
        co_await weft::sleep_for(1ms);
        ++ticks;
    }
}

weft::task<int> pipeline() {
    weft::channel<int> jobs(16);
    weft::mutex m;
    std::array<int, 10> histogram{};

    weft::task_group workers;
    for (int w = 0; w < 3; ++w) workers.spawn(work(jobs, m, histogram));
    co_await weft::when_all(produce(jobs, 0, 500), produce(jobs, 500, 1000));
    jobs.close();
    co_await workers.join();  // rethrows the first worker's exception, if any
    int total = 0;
    for (int n : histogram) total += n;
    std::printf("histogram: %d jobs, %d ending in 7\n", total, histogram[7]);

    auto [index, answer] = co_await weft::when_any(slow_lookup(), deadline(5ms));
    std::printf("when_any: task %zu won: %s\n", index, std::get<1>(answer).c_str());

    // timeout takes a primitive's awaiter as it is; the cancelled receive takes
    // nothing from the channel.
    weft::channel<int> quiet(1);
    const std::optional<std::optional<int>> nothing = co_await weft::timeout(5ms, quiet.recv());
    std::printf("timeout: %s\n", nothing ? "a value came" : "nothing came within 5 ms");

    int ticks = 0;
    auto h = weft::spawn(ticker(ticks));
    co_await weft::sleep_for(5ms);
    h.cancel();
    try {
        co_await h;
    } catch (const weft::cancelled&) {
        std::printf("ticker: cancelled%s\n", ticks > 0 ? " after ticking" : "");
    }
    co_return total == 1000 ? 0 : 1;
}

int main() { return weft::run(pipeline()); }
