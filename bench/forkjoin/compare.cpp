// weft-compare: the fork-join throughput comparison behind the README's main
// command. Runs each problem sequentially, on weft and on oneTBB at 1 and N
// workers in one process, and prints a table of times and ratios.
//   weft-compare [--standard] [--runs K] [--workers N]
// Default sizes suit a 2-core machine in about a minute; --standard uses the
// public suite's sizes (fib 39, skynet 8, nqueens 14, matmul 2048).
#include "tbb_problems.hpp"

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

struct problem {
    std::string name;
    int param;
    std::uint64_t tasks;  // forks per run, for ns/task
    std::function<bool()> serial;
    std::function<bool(weft::runtime&)> weft;
    std::function<bool()> tbb;
};

using clock_type = std::chrono::steady_clock;

// Median of `runs` timed runs after one warm-up; seconds. Sets ok=false on a wrong answer.
template <class F>
double measure(int runs, F&& once, bool& ok) {
    ok = once();
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        const auto start = clock_type::now();
        ok = once() && ok;
        times.push_back(std::chrono::duration<double>(clock_type::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

std::vector<problem> make_problems(bool standard) {
    using namespace forkjoin;
    const int fib_n = standard ? 39 : 32;
    const int sky_d = standard ? 8 : 7;
    const int nq_n = standard ? 14 : 12;
    const int mm_n = standard ? 2048 : 1024;
    auto mats = std::make_shared<matrices>(mm_n);
    std::vector<problem> out;
    out.push_back({"fib", fib_n, fib_tasks(fib_n),
                   [=] { return serial::fib(fib_n) == fib_expected(fib_n); },
                   [=](weft::runtime& rt) { return rt.block_on(weft_impl::fib(fib_n)) == fib_expected(fib_n); },
                   [=] { return tbb_impl::fib(fib_n) == fib_expected(fib_n); }});
    out.push_back({"skynet", sky_d, skynet_tasks(sky_d),
                   [=] { return serial::skynet(0, skynet_size(sky_d)) == skynet_expected(sky_d); },
                   [=](weft::runtime& rt) {
                       return rt.block_on(weft_impl::skynet(0, skynet_size(sky_d))) == skynet_expected(sky_d);
                   },
                   [=] { return tbb_impl::skynet(0, skynet_size(sky_d)) == skynet_expected(sky_d); }});
    out.push_back({"nqueens", nq_n, 0,
                   [=] { return serial::nqueens(nq_n, 0, board{}) == nqueens_expected(nq_n); },
                   [=](weft::runtime& rt) { return rt.block_on(weft_impl::nqueens(nq_n, 0, board{})) == nqueens_expected(nq_n); },
                   [=] { return tbb_impl::nqueens(nq_n, 0, board{}) == nqueens_expected(nq_n); }});
    out.push_back({"matmul", mm_n, 0,
                   [=] { mats->clear_result(); serial::matmul(mats->a.data(), mats->b.data(), mats->c.data(), mm_n, mm_n); return mats->spot_check(); },
                   [=](weft::runtime& rt) {
                       mats->clear_result();
                       rt.block_on(weft_impl::matmul(mats->a.data(), mats->b.data(), mats->c.data(), mm_n, mm_n));
                       return mats->spot_check();
                   },
                   [=] { mats->clear_result(); tbb_impl::matmul(mats->a.data(), mats->b.data(), mats->c.data(), mm_n, mm_n); return mats->spot_check(); }});
    return out;
}

int usage(const char* why) {
    std::fprintf(stderr, "weft-compare: %s\nusage: weft-compare [--standard] [--runs K] [--workers N]\n", why);
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    bool standard = false;
    int runs = 3;
    unsigned wide = std::max(1u, std::thread::hardware_concurrency());
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--standard") == 0) {
            standard = true;
        } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = std::atoi(argv[++i]);
            if (runs < 1 || runs > 100) return usage("--runs: expected an integer in 1..100");
        } else if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            const int w = std::atoi(argv[++i]);
            if (w < 1 || w > 1024) return usage("--workers: expected an integer in 1..1024");
            wide = static_cast<unsigned>(w);
        } else {
            return usage((std::string("unknown argument \"") + argv[i] + "\"").c_str());
        }
    }

    // Let oneTBB use as many threads as the widest arena asks for.
    tbb::global_control tbb_limit(tbb::global_control::max_allowed_parallelism, wide);
    const unsigned widths[2] = {1, wide};
    const int columns = wide > 1 ? 2 : 1;

    std::printf("weft fork-join comparison: %s sizes, median of %d runs, %u hardware threads\n\n",
                standard ? "standard" : "quick", runs, std::thread::hardware_concurrency());
    std::printf("%-8s %6s | %10s | %10s %10s | %10s %10s | %9s %9s | %11s\n", "bench", "param", "serial ms",
                "weft 1w", (std::string("weft ") + std::to_string(wide) + "w").c_str(), "oneTBB 1w",
                (std::string("oneTBB ") + std::to_string(wide) + "w").c_str(), "weft/TBB1", "weft/TBBN",
                "weft ns/task");
    bool all_ok = true;
    for (problem& p : make_problems(standard)) {
        std::fprintf(stderr, "running %s %d ...\n", p.name.c_str(), p.param);
        bool ok = true;
        const double t_serial = measure(runs, p.serial, ok);
        all_ok = all_ok && ok;
        double t_weft[2] = {0, 0}, t_tbb[2] = {0, 0};
        for (int c = 0; c < columns; ++c) {
            // oneTBB's workers spin for a while after their last task; on a small
            // machine that steals the core weft is about to be measured on.
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            weft::runtime rt(weft::config{.workers = widths[c]});
            t_weft[c] = measure(runs, [&] { return p.weft(rt); }, ok);
            all_ok = all_ok && ok;
            tbb::task_arena arena(static_cast<int>(widths[c]));
            arena.execute([&] { t_tbb[c] = measure(runs, p.tbb, ok); });
            all_ok = all_ok && ok;
        }
        if (columns == 1) {
            t_weft[1] = t_weft[0];
            t_tbb[1] = t_tbb[0];
        }
        char per_task[32] = "-";
        if (p.tasks != 0) std::snprintf(per_task, sizeof per_task, "%.1f", t_weft[0] * 1e9 / static_cast<double>(p.tasks));
        std::printf("%-8s %6d | %10.1f | %10.1f %10.1f | %10.1f %10.1f | %9.2f %9.2f | %11s\n", p.name.c_str(),
                    p.param, t_serial * 1e3, t_weft[0] * 1e3, t_weft[1] * 1e3, t_tbb[0] * 1e3, t_tbb[1] * 1e3,
                    t_weft[0] / t_tbb[0], t_weft[1] / t_tbb[1], per_task);
        std::fflush(stdout);
    }
    std::printf("\nweft/TBB: weft's time over oneTBB's at the same worker count (below 1.00: weft is faster).\n");
    if (!all_ok) {
        std::fprintf(stderr, "weft-compare: a run gave a wrong answer\n");
        return 2;
    }
    return 0;
}
