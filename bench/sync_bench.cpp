// weft-sync-bench: channel throughput and mutex hand-off, beside what a C++ user
// writes without weft, in the same run.
//
//   channel: 4 producers and 4 consumers move `--items` integers through a bounded
//     queue of `--capacity`: weft::channel<uint64_t> with tasks (at 1 worker and
//     at every hardware thread), and a std::deque guarded by std::mutex with two
//     std::condition_variables, driven by 8 std::threads. Every consumer sums what
//     it got; the sums are checked, so a lost or doubled item fails the run.
//   mutex: `--rounds` lock/unlock pairs by one task and by two tasks, beside
//     std::mutex with one and two threads; and the hand-off latency: two tasks
//     that hold it across a yield(), so every unlock passes the mutex to the other
//     (FIFO hand-off).
// Each row is the median of `--runs` runs; ratios are to the std baseline's median.
#include <weft/weft.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

constexpr int k_producers = 4;
constexpr int k_consumers = 4;

struct options {
    std::uint64_t items = 10'000'000;
    std::size_t capacity = 1024;
    std::uint64_t rounds = 1'000'000;
    int runs = 3;
};

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::uint64_t expected_sum(std::uint64_t n) { return n * (n - 1) / 2; }

void check_sum(const char* what, std::uint64_t got, std::uint64_t want) {
    if (got != want)
        throw std::runtime_error(std::string(what) + ": consumers summed " + std::to_string(got) + ", expected " +
                                 std::to_string(want) + " (an item was lost or duplicated)");
}

// --- channel -----------------------------------------------------------------

weft::task<void> produce(weft::channel<std::uint64_t>& ch, std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t v = from; v < to; ++v) co_await ch.send(v);
}

weft::task<std::uint64_t> consume(weft::channel<std::uint64_t>& ch) {
    std::uint64_t sum = 0;
    while (std::optional<std::uint64_t> v = co_await ch.recv()) sum += *v;
    co_return sum;
}

weft::task<std::uint64_t> channel_run(std::uint64_t items, std::size_t capacity) {
    weft::channel<std::uint64_t> ch(capacity);
    std::vector<weft::join_handle<std::uint64_t>> consumers;
    std::vector<weft::join_handle<void>> producers;
    for (int c = 0; c < k_consumers; ++c) consumers.push_back(weft::spawn(consume(ch)));
    for (int p = 0; p < k_producers; ++p)
        producers.push_back(weft::spawn(produce(ch, items * p / k_producers, items * (p + 1) / k_producers)));
    for (auto& h : producers) co_await h;
    ch.close();
    std::uint64_t sum = 0;
    for (auto& h : consumers) sum += co_await h;
    co_return sum;
}

double weft_channel_seconds(const options& opt, unsigned workers) {
    weft::runtime rt(weft::config{.workers = workers});
    const auto start = clock_type::now();
    const std::uint64_t sum = rt.block_on(channel_run(opt.items, opt.capacity));
    const double s = seconds_since(start);
    check_sum("weft::channel", sum, expected_sum(opt.items));
    return s;
}

// The queue a C++ programmer writes: a deque, a mutex, two condition variables.
class blocking_queue {
public:
    explicit blocking_queue(std::size_t capacity) : capacity_(capacity) {}

    void push(std::uint64_t v) {
        std::unique_lock lock(m_);
        not_full_.wait(lock, [&] { return q_.size() < capacity_; });
        q_.push_back(v);
        lock.unlock();
        not_empty_.notify_one();
    }
    bool pop(std::uint64_t& v) {
        std::unique_lock lock(m_);
        not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
        if (q_.empty()) return false;
        v = q_.front();
        q_.pop_front();
        lock.unlock();
        not_full_.notify_one();
        return true;
    }
    void close() {
        {
            std::lock_guard lock(m_);
            closed_ = true;
        }
        not_empty_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable not_full_;
    std::condition_variable not_empty_;
    std::deque<std::uint64_t> q_;
    std::size_t capacity_;
    bool closed_ = false;
};

double std_channel_seconds(const options& opt) {
    blocking_queue q(opt.capacity);
    std::vector<std::uint64_t> sums(k_consumers, 0);
    const auto start = clock_type::now();
    std::vector<std::thread> consumers;
    for (int c = 0; c < k_consumers; ++c)
        consumers.emplace_back([&q, &sums, c] {
            std::uint64_t v = 0;
            std::uint64_t sum = 0;
            while (q.pop(v)) sum += v;
            sums[static_cast<std::size_t>(c)] = sum;
        });
    std::vector<std::thread> producers;
    for (int p = 0; p < k_producers; ++p)
        producers.emplace_back([&q, &opt, p] {
            for (std::uint64_t v = opt.items * p / k_producers; v < opt.items * (p + 1) / k_producers; ++v) q.push(v);
        });
    for (auto& t : producers) t.join();
    q.close();
    for (auto& t : consumers) t.join();
    const double s = seconds_since(start);
    std::uint64_t sum = 0;
    for (std::uint64_t x : sums) sum += x;
    check_sum("std::mutex + std::condition_variable queue", sum, expected_sum(opt.items));
    return s;
}

// --- mutex -------------------------------------------------------------------

weft::task<void> lock_loop(weft::mutex& m, std::uint64_t rounds, std::uint64_t& counter, bool yield_inside) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
        auto g = co_await m.lock();
        ++counter;
        if (yield_inside) co_await weft::yield();  // the other task queues on the mutex meanwhile
    }
}

double weft_mutex_seconds(std::uint64_t rounds, unsigned workers, int tasks, bool hand_off) {
    weft::runtime rt(weft::config{.workers = workers});
    std::uint64_t counter = 0;
    const auto start = clock_type::now();
    rt.block_on([](std::uint64_t r, int n, std::uint64_t& c, bool yield_inside) -> weft::task<void> {
        weft::mutex m;
        std::vector<weft::join_handle<void>> hs;
        for (int t = 0; t < n; ++t)
            hs.push_back(weft::spawn(lock_loop(m, r / static_cast<std::uint64_t>(n), c, yield_inside)));
        for (auto& h : hs) co_await h;
    }(rounds, tasks, counter, hand_off));
    const double s = seconds_since(start);
    const std::uint64_t want = rounds / static_cast<std::uint64_t>(tasks) * static_cast<std::uint64_t>(tasks);
    if (counter != want) throw std::runtime_error("weft::mutex: counter " + std::to_string(counter) + ", expected " + std::to_string(want));
    return s;
}

double std_mutex_seconds(std::uint64_t rounds, int threads) {
    std::mutex m;
    std::uint64_t counter = 0;
    const auto start = clock_type::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            for (std::uint64_t i = 0; i < rounds / static_cast<std::uint64_t>(threads); ++i) {
                std::lock_guard g(m);
                ++counter;
            }
        });
    for (auto& t : ts) t.join();
    return seconds_since(start);
}

// --- driver ------------------------------------------------------------------

struct row {
    std::string name;
    std::function<double()> run;  // seconds for one run
    double units;                 // items or lock/unlock pairs per run
    int baseline;                 // index of the row its ratio compares with; -1 a baseline, -2 none
    std::vector<double> seconds{};
};

bool parse_u64(const char* s, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
    if (s == nullptr || *s == '\0' || *s == '-') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
    out = v;
    return true;
}

constexpr const char* k_usage =
    "usage: weft-sync-bench [--items N] [--capacity N] [--rounds N] [--runs K]\n"
    "  --items N     channel items per run, 4 producers / 4 consumers (1000..10^10, default 10^7)\n"
    "  --capacity N  channel capacity (1..10^6, default 1024)\n"
    "  --rounds N    mutex lock/unlock pairs per run (1000..10^10, default 10^6)\n"
    "  --runs K      runs per row; the table shows the median (1..100, default 3)\n"
    "Exit status: 0 done, 1 a check failed, 2 bad arguments.\n";

int bad_argument(const std::string& what) {
    std::fprintf(stderr, "weft-sync-bench: %s\n%s", what.c_str(), k_usage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(k_usage, stdout);
            return 0;
        }
        if (flag != "--items" && flag != "--capacity" && flag != "--rounds" && flag != "--runs")
            return bad_argument("unknown argument \"" + flag + "\"");
        if (i + 1 >= argc) return bad_argument(flag + ": missing value");
        const char* value = argv[++i];
        std::uint64_t v = 0;
        if (flag == "--items") {
            if (!parse_u64(value, 1000, 10'000'000'000ull, v))
                return bad_argument(flag + " \"" + value + "\": expected an integer in 1000..10000000000");
            opt.items = v;
        } else if (flag == "--capacity") {
            if (!parse_u64(value, 1, 1'000'000, v))
                return bad_argument(flag + " \"" + value + "\": expected an integer in 1..1000000");
            opt.capacity = static_cast<std::size_t>(v);
        } else if (flag == "--rounds") {
            if (!parse_u64(value, 1000, 10'000'000'000ull, v))
                return bad_argument(flag + " \"" + value + "\": expected an integer in 1000..10000000000");
            opt.rounds = v;
        } else {
            if (!parse_u64(value, 1, 100, v))
                return bad_argument(flag + " \"" + value + "\": expected an integer in 1..100");
            opt.runs = static_cast<int>(v);
        }
    }

    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const double items = static_cast<double>(opt.items);
    const double rounds = static_cast<double>(opt.rounds);
    std::vector<row> rows;
    rows.push_back({"channel: std::mutex+condvar queue, 8 threads", [&] { return std_channel_seconds(opt); }, items, -1});
    rows.push_back({"channel: weft::channel, 1 worker", [&] { return weft_channel_seconds(opt, 1); }, items, 0});
    rows.push_back({"channel: weft::channel, " + std::to_string(hw) + " workers",
                    [&] { return weft_channel_seconds(opt, hw); }, items, 0});
    rows.push_back({"mutex: std::mutex, 1 thread", [&] { return std_mutex_seconds(opt.rounds, 1); }, rounds, -1});
    rows.push_back({"mutex: weft::mutex, 1 task", [&] { return weft_mutex_seconds(opt.rounds, 1, 1, false); },
                    rounds, 3});
    rows.push_back({"mutex: std::mutex, 2 threads", [&] { return std_mutex_seconds(opt.rounds, 2); }, rounds, -1});
    rows.push_back({"mutex: weft::mutex, 2 tasks, " + std::to_string(hw) + " workers",
                    [&] { return weft_mutex_seconds(opt.rounds, hw, 2, false); }, rounds, 5});
    // Latency rows (no baseline): each task holds the mutex across a yield(), so
    // every unlock hands it to the other, queued task.
    rows.push_back({"mutex hand-off: 2 tasks, 1 worker", [&] { return weft_mutex_seconds(opt.rounds, 1, 2, true); },
                    rounds, -2});
    rows.push_back({"mutex hand-off: 2 tasks, " + std::to_string(hw) + " workers",
                    [&] { return weft_mutex_seconds(opt.rounds, hw, 2, true); }, rounds, -2});

    std::printf("weft sync: channel %llu items (4 producers / 4 consumers, capacity %zu), mutex %llu lock/unlock "
                "pairs, median of %d runs, %u hardware threads\n",
                static_cast<unsigned long long>(opt.items), opt.capacity,
                static_cast<unsigned long long>(opt.rounds), opt.runs, hw);
    try {
        for (int r = 0; r < opt.runs; ++r)
            for (row& x : rows) {
                std::fprintf(stderr, "run %d/%d: %s ...\n", r + 1, opt.runs, x.name.c_str());
                x.seconds.push_back(x.run());
            }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "weft-sync-bench: %s\n", e.what());
        return 1;
    }
    std::printf("%-52s %14s %12s %14s\n", "row", "per second", "ns each", "vs baseline");
    for (const row& x : rows) {
        const double s = median(x.seconds);
        char ratio[32] = "(baseline)";
        if (x.baseline == -2) std::snprintf(ratio, sizeof ratio, "-");
        if (x.baseline >= 0)
            std::snprintf(ratio, sizeof ratio, "%.2fx", median(rows[static_cast<std::size_t>(x.baseline)].seconds) / s);
        std::printf("%-52s %14.0f %12.1f %14s\n", x.name.c_str(), x.units / s, s * 1e9 / x.units, ratio);
    }
    std::printf("\nvs baseline: the baseline's median time over this row's (above 1.00x: faster). Channel rows "
                "compare with the condvar queue; mutex rows with std::mutex at the same number of contenders. Hand-off rows: "
                "time per lock/unlock pair when every unlock passes the mutex to the other task (a yield() inside "
                "the critical section included).\n");
    return 0;
}
