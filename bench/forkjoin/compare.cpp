// weft-compare: the fork-join throughput comparison behind the README's main
// command. Runs each problem sequentially, on weft and on oneTBB at 1, 2, 4, ...
// up to N workers in one process (weft and oneTBB and the worker counts taking
// turns, one run each), and prints a table of times and ratios (1 and N
// workers). Then the floor under fib's cost per task (bare_coroutine.hpp)
// beside weft's and oneTBB's, and two checks of issue 8's other targets: weft's
// cost per task over fib 30..39 at 1 worker (it must not grow with the number of
// tasks; judged on fib 39 against the fib 30 runs around it, see fib_growth),
// and the peak memory (max RSS) of skynet 8 on weft and on oneTBB, each run in a
// child process of its own.
// Last, each of issue 8's targets this run can check, with the run's figures and
// whether they hold (targets_summary below).
//   weft-compare [--standard] [--runs K] [--workers N] [--data DIR]
// Default sizes suit a 2-core machine in about a minute; --standard uses the
// public suite's sizes (fib 39, skynet 8, nqueens 14, matmul 2048). --data writes
// the numbers as tab-separated files (for scripts/plot_forkjoin.gp) and a
// Markdown table (for docs/benchmarks.md) into DIR.
#include "bare_coroutine.hpp"
#include "tbb_problems.hpp"
#include "weft_runs.hpp"

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
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

// One timed run; seconds. Sets ok=false on a wrong answer.
template <class F>
double time_once(F&& once, bool& ok) {
    const auto start = clock_type::now();
    ok = once() && ok;
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> times) {
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// Median of `runs` timed runs after one warm-up; seconds.
template <class F>
double measure(int runs, F&& once, bool& ok) {
    ok = once() && ok;
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) times.push_back(time_once(once, ok));
    return median(std::move(times));
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
                   [=](weft::runtime& rt) { return weft_run::fib(rt, fib_n) == fib_expected(fib_n); },
                   [=] { return tbb_impl::fib(fib_n) == fib_expected(fib_n); }});
    out.push_back({"skynet", sky_d, skynet_tasks(sky_d),
                   [=] { return serial::skynet(0, skynet_size(sky_d)) == skynet_expected(sky_d); },
                   [=](weft::runtime& rt) { return weft_run::skynet(rt, sky_d) == skynet_expected(sky_d); },
                   [=] { return tbb_impl::skynet(0, skynet_size(sky_d)) == skynet_expected(sky_d); }});
    out.push_back({"nqueens", nq_n, 0,
                   [=] { return serial::nqueens(nq_n, 0, board{}) == nqueens_expected(nq_n); },
                   [=](weft::runtime& rt) { return weft_run::nqueens(rt, nq_n) == nqueens_expected(nq_n); },
                   [=] { return tbb_impl::nqueens(nq_n, 0, board{}) == nqueens_expected(nq_n); }});
    out.push_back({"matmul", mm_n, 0,
                   [=] { mats->clear_result(); serial::matmul(mats->a.data(), mats->b.data(), mats->c.data(), mm_n, mm_n); return mats->spot_check(); },
                   [=](weft::runtime& rt) {
                       mats->clear_result();
                       weft_run::matmul(rt, *mats);
                       return mats->spot_check();
                   },
                   [=] { mats->clear_result(); tbb_impl::matmul(mats->a.data(), mats->b.data(), mats->c.data(), mm_n, mm_n); return mats->spot_check(); }});
    return out;
}

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    return buf;
}

int usage(const char* why) {
    std::fprintf(stderr,
                 "weft-compare: %s\nusage: weft-compare [--standard] [--runs K] [--workers N] [--data DIR]\n", why);
    return 1;
}

// The worker counts measured: 1, 2, 4, ... below `wide`, then `wide` itself.
std::vector<unsigned> worker_counts(unsigned wide) {
    std::vector<unsigned> out;
    for (unsigned w = 1; w < wide; w *= 2) out.push_back(w);
    out.push_back(wide);
    return out;
}

// ---- peak memory: skynet 8, one child process per runtime and worker count ------

constexpr int k_rss_depth = 8;

// This process's peak resident memory (VmHWM) in KiB, or -1. Read from /proc, not
// getrusage: a spawned child's ru_maxrss also counts the parent's memory before
// the exec.
long peak_rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
}

// `weft-compare --rss-child weft|tbb|none WORKERS`: runs skynet 8 once (none: does
// nothing, for the baseline) and prints its peak RSS in KiB; exit 0 when the
// answer is right, 2 when wrong, 1 on bad arguments.
int rss_child(const std::string& which, const char* workers_arg) {
    using namespace forkjoin;
    const int workers = std::atoi(workers_arg);
    if (workers < 1 || workers > 1024) return 1;
    const std::uint64_t size = skynet_size(k_rss_depth);
    std::uint64_t got = skynet_expected(k_rss_depth);
    if (which == "weft") {
        weft::runtime rt(weft::config{.workers = static_cast<unsigned>(workers)});
        got = weft_run::skynet(rt, k_rss_depth);
    } else if (which == "tbb") {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));
        tbb::task_arena arena(workers);
        arena.execute([&] { got = tbb_impl::skynet(0, size); });
    } else if (which != "none") {
        return 1;
    }
    std::printf("%ld\n", peak_rss_kib());
    return got == skynet_expected(k_rss_depth) ? 0 : 2;
}

// Runs this program again as an --rss-child; gives the child's peak RSS in KiB,
// or -1 when it could not run or failed.
long child_peak_rss_kib(const char* which, unsigned workers) {
    int out[2];
    if (::pipe(out) != 0) return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::string mode = "--rss-child", name = which, count = std::to_string(workers), self = "weft-compare";
    char* argv[] = {self.data(), mode.data(), name.data(), count.data(), nullptr};
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    std::string text;
    char buf[64];
    for (ssize_t n; spawned == 0 && (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(out[0]);
    if (spawned != 0) return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    return text.empty() ? -1 : std::atol(text.c_str());
}

// ---- cost per task against the number of tasks: fib 30..39 at 1 worker ----------

struct fib_point {
    int n;
    std::uint64_t tasks;
    double seconds;
};

std::vector<fib_point> fib_series(int from, int to, bool& ok) {
    using namespace forkjoin;
    weft::runtime rt(weft::config{.workers = 1});
    ok = weft_run::fib(rt, from) == fib_expected(from) && ok;  // warm-up
    std::vector<fib_point> out;
    for (int n = from; n <= to; ++n) {
        std::fprintf(stderr, "running fib %d at 1 worker ...\n", n);
        const auto start = clock_type::now();
        ok = weft_run::fib(rt, n) == fib_expected(n) && ok;
        out.push_back({n, fib_tasks(n), std::chrono::duration<double>(clock_type::now() - start).count()});
    }
    return out;
}

// fib 39's cost per task over fib 30's, for the "does not grow" target: `rounds`
// rounds of fib 30, fib 39, fib 30 back to back on one runtime, each round's fib
// 39 over the mean of the two fib 30 runs around it, then the median over the
// rounds. The series above runs each size once, smallest first, so a drift of
// this shared host's speed over its ten seconds (it moves by ±10 % within
// seconds) reads as growth or shrinkage; the runs around fib 39 cancel the drift
// a round spans.
double fib_growth(int rounds, bool& ok) {
    using namespace forkjoin;
    weft::runtime rt(weft::config{.workers = 1});
    ok = weft_run::fib(rt, 30) == fib_expected(30) && ok;  // warm-up
    const auto ns_per_task = [&](int n) {
        const double seconds = time_once([&] { return weft_run::fib(rt, n) == fib_expected(n); }, ok);
        return seconds * 1e9 / static_cast<double>(fib_tasks(n));
    };
    std::vector<double> ratios;
    for (int r = 1; r <= rounds; ++r) {
        std::fprintf(stderr, "running fib 30, 39, 30 at 1 worker (round %d of %d) ...\n", r, rounds);
        const double before = ns_per_task(30);
        const double big = ns_per_task(39);
        const double after = ns_per_task(30);
        ratios.push_back(big / ((before + after) / 2));
    }
    return median(std::move(ratios));
}

struct result_row {
    std::string name;
    int param = 0;
    std::uint64_t tasks = 0;
    double serial = 0;
    std::vector<double> weft, tbb;  // seconds, one per worker count
    // Over the same runtime's 1-worker time, one per worker count: the median
    // over the turns of each turn's ratio (see main).
    std::vector<double> weft_speedup, tbb_speedup;
};

double ns_per_task(const fib_point& p) { return p.seconds * 1e9 / static_cast<double>(p.tasks); }

const result_row* find_row(const std::vector<result_row>& rows, const char* name) {
    const auto it = std::find_if(rows.begin(), rows.end(), [&](const result_row& r) { return r.name == name; });
    return it == rows.end() ? nullptr : &*it;
}

// Issue 8's targets that one run of this program can check, each with the run's
// figures and "met" or "not met". `two` is the index of the 2-worker column (0
// on a 1-core machine: then only the 1-worker figures count). The comparison
// with libfork and TooManyCooks needs their checkouts: scripts/beside_others.sh.
std::vector<std::string> targets_summary(const std::vector<result_row>& rows, std::size_t two, double fib_growth,
                                         const std::vector<std::pair<unsigned, double>>& rss_ratios) {
    // One line per target: what it asks, the run's figures, then "met" or
    // "not met" with the problems that miss it.
    struct target_line {
        std::string figures, missed;
        void add(const std::string& figure, bool ok, const std::string& name) {
            figures += (figures.empty() ? "" : ", ") + figure;
            if (!ok) missed += (missed.empty() ? "" : ", ") + name;
        }
        std::string text(const std::string& what) const {
            return what + ": " + figures + " — " + (missed.empty() ? "met" : "not met (" + missed + ")") + ".";
        }
    };
    std::vector<std::string> lines;
    const std::string at_workers = two > 0 ? "at 1 / 2 workers" : "at 1 worker";

    target_line vs_tbb;
    for (const char* name : {"fib", "skynet"}) {
        const result_row* r = find_row(rows, name);
        if (r == nullptr) continue;
        const double one = r->weft[0] / r->tbb[0], pair = r->weft[two] / r->tbb[two];
        vs_tbb.add(two > 0 ? format("%s %.2f / %.2f", name, one, pair) : format("%s %.2f", name, one),
                   one <= 0.22 && pair <= 0.22, name);
    }
    if (!vs_tbb.figures.empty()) lines.push_back(vs_tbb.text("fib and skynet at most 0.22× oneTBB's time " + at_workers));

    target_line vs_serial;
    for (const char* name : {"nqueens", "matmul"}) {
        const result_row* r = find_row(rows, name);
        if (r == nullptr) continue;
        const double ratio = r->weft[0] / r->serial;
        vs_serial.add(format("%s %.2f", name, ratio), ratio <= 1.10, name);
    }
    if (!vs_serial.figures.empty())
        lines.push_back(vs_serial.text("nqueens and matmul at 1 worker within 1.10× sequential code"));

    if (two > 0) {
        target_line speedup;
        for (const result_row& r : rows) {
            const double s = r.weft_speedup[two];
            speedup.add(format("%s %.2f", r.name.c_str(), s), s >= 1.8, r.name);
        }
        lines.push_back(speedup.text("2 workers at least 1.8× faster than 1, on every problem"));
    }

    if (!rss_ratios.empty()) {
        target_line rss;
        for (const auto& [workers, ratio] : rss_ratios)
            rss.add(format("%.2f (%uw)", ratio, workers), ratio <= 2.0, format("%uw", workers));
        lines.push_back(rss.text(format("max RSS of skynet %d at most 2× oneTBB's", k_rss_depth)));
    }

    // "Does not grow": fib 39 runs 76 times the tasks of fib 30; this machine's
    // run-to-run noise is about ±10 %, so more than 1.10 counts as growth.
    target_line flat;
    flat.add(format("%.2f", fib_growth), fib_growth <= 1.10, "fib 39");
    lines.push_back(flat.text("cost per task flat from fib 30 to fib 39 (fib 39's over that of the fib 30 runs "
                              "around it at most 1.10)"));
    return lines;
}

// weft's ns per task at 1 worker, or "-" for problems whose tasks are not counted.
std::string per_task_text(const result_row& r) {
    if (r.tasks == 0) return "-";
    return format("%.1f", r.weft[0] * 1e9 / static_cast<double>(r.tasks));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "--rss-child") == 0) return rss_child(argv[2], argv[3]);

    bool standard = false;
    int runs = 3;
    unsigned wide = std::max(1u, std::thread::hardware_concurrency());
    std::string data_dir;
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
        } else if (std::strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else {
            return usage((std::string("unknown argument \"") + argv[i] + "\"").c_str());
        }
    }
    if (!data_dir.empty()) {
        std::ofstream probe(data_dir + "/forkjoin.tsv");
        if (!probe) return usage(("--data: cannot write into \"" + data_dir + "\" (does the directory exist?)").c_str());
    }

    // Let oneTBB use as many threads as the widest arena asks for.
    tbb::global_control tbb_limit(tbb::global_control::max_allowed_parallelism, wide);
    const std::vector<unsigned> counts = worker_counts(wide);
    const std::string wide_w = std::to_string(wide) + "w";

    std::printf("weft fork-join comparison: %s sizes, median of %d runs (weft and oneTBB and the worker counts taking "
                "turns), %u hardware threads\n\n",
                standard ? "standard" : "quick", runs, std::thread::hardware_concurrency());
    std::printf("%-8s %6s | %10s | %10s %10s | %10s %10s | %9s %9s | %11s\n", "bench", "param", "serial ms",
                "weft 1w", ("weft " + wide_w).c_str(), "oneTBB 1w", ("oneTBB " + wide_w).c_str(), "weft/TBB1",
                "weft/TBBN", "weft ns/task");
    bool all_ok = true;
    std::vector<result_row> rows;
    for (problem& p : make_problems(standard)) {
        std::fprintf(stderr, "running %s %d ...\n", p.name.c_str(), p.param);
        bool ok = true;
        result_row row{p.name, p.param, p.tasks, measure(runs, p.serial, ok), {}, {}, {}, {}};
        all_ok = all_ok && ok;
        // weft and oneTBB take turns, one run each, and so do the worker counts:
        // each turn runs every count once, so a stretch of load from another
        // tenant of a shared machine slows both sides of a ratio and both ends
        // of a speedup, not one. A runtime or arena waiting for its turn costs
        // nothing (weft's idle workers park; oneTBB's sleep after the pause
        // below). The first turn is the warm-up.
        struct side {
            std::unique_ptr<weft::runtime> rt;
            std::unique_ptr<tbb::task_arena> arena;
            std::vector<double> weft_times, tbb_times;
        };
        std::vector<side> sides;
        for (unsigned c : counts)
            sides.push_back({std::make_unique<weft::runtime>(weft::config{.workers = c}),
                             std::make_unique<tbb::task_arena>(static_cast<int>(c)), {}, {}});
        for (int turn = 0; turn <= runs; ++turn) {
            for (side& sd : sides) {
                // oneTBB's workers spin for a while after their last task; on a
                // small machine that steals the core weft is about to run on.
                // (weft's idle workers park at once: oneTBB needs no pause.)
                std::this_thread::sleep_for(std::chrono::milliseconds(300));
                const double w = time_once([&] { return p.weft(*sd.rt); }, ok);
                double t = 0;
                sd.arena->execute([&] { t = time_once(p.tbb, ok); });
                if (turn == 0) continue;
                sd.weft_times.push_back(w);
                sd.tbb_times.push_back(t);
            }
        }
        // Turn by turn, 1 worker's time over each count's, then the median.
        const auto speedup = [](const std::vector<double>& one, const std::vector<double>& many) {
            std::vector<double> ratios;
            for (std::size_t i = 0; i < one.size(); ++i) ratios.push_back(one[i] / many[i]);
            return median(std::move(ratios));
        };
        for (const side& sd : sides) {
            row.weft.push_back(median(sd.weft_times));
            row.tbb.push_back(median(sd.tbb_times));
            row.weft_speedup.push_back(speedup(sides[0].weft_times, sd.weft_times));
            row.tbb_speedup.push_back(speedup(sides[0].tbb_times, sd.tbb_times));
        }
        all_ok = all_ok && ok;
        std::printf("%-8s %6d | %10.1f | %10.1f %10.1f | %10.1f %10.1f | %9.2f %9.2f | %11s\n", row.name.c_str(),
                    row.param, row.serial * 1e3, row.weft[0] * 1e3, row.weft.back() * 1e3, row.tbb[0] * 1e3,
                    row.tbb.back() * 1e3, row.weft[0] / row.tbb[0], row.weft.back() / row.tbb.back(),
                    per_task_text(row).c_str());
        std::fflush(stdout);
        rows.push_back(std::move(row));
    }
    std::printf("\nweft/TBB: weft's time over oneTBB's at the same worker count (below 1.00: weft is faster).\n");
    // The summary sentences go to the terminal and, with --data, into table.md.
    std::string speedups;
    if (wide > 1) {
        speedups = format("Speedup from 1 to %u workers:", wide);
        for (std::size_t i = 0; i < rows.size(); ++i)
            speedups += format("%s %s weft %.2f×, oneTBB %.2f×", i == 0 ? "" : ";", rows[i].name.c_str(),
                               rows[i].weft_speedup.back(), rows[i].tbb_speedup.back());
        speedups += format(" (each the median over the turns of the 1-worker run's time over the %u-worker run's "
                           "in the same turn).",
                           wide);
        std::printf("%s\n", speedups.c_str());
    }

    // The floor: what fib costs per call as bare coroutines, beside weft and oneTBB.
    bool ok = true;
    std::string floor_summary;
    if (const auto fib_row = std::find_if(rows.begin(), rows.end(), [](const result_row& r) { return r.name == "fib"; });
        fib_row != rows.end()) {
        const int n = fib_row->param;
        const double bare = measure(runs, [n] { return forkjoin::bare::fib(n) == forkjoin::fib_expected(n); }, ok);
        const auto per_task = [&](double seconds) { return seconds * 1e9 / static_cast<double>(fib_row->tasks); };
        floor_summary = format(
            "Floor: fib %d as bare coroutines (bench/forkjoin/bare_coroutine.hpp: a minimal lazy task awaiting its "
            "two children in turn on one thread, no scheduler) costs %.1f ns per call. At 1 worker weft costs %.1f ns "
            "per task (%.2f× the floor) and oneTBB %.1f; 0.22× oneTBB would be %.1f ns.",
            n, per_task(bare), per_task(fib_row->weft[0]), fib_row->weft[0] / bare, per_task(fib_row->tbb[0]),
            0.22 * per_task(fib_row->tbb[0]));
        std::printf("\n%s\n", floor_summary.c_str());
    }

    // Cost per task must not grow with the number of tasks.
    const std::vector<fib_point> fibs = fib_series(30, 39, ok);
    all_ok = all_ok && ok;
    std::printf("\nweft fib at 1 worker, cost per task against the number of tasks:\n");
    for (const fib_point& f : fibs)
        std::printf("  fib %d: %11llu tasks, %8.1f ms, %5.1f ns/task\n", f.n, static_cast<unsigned long long>(f.tasks),
                    f.seconds * 1e3, ns_per_task(f));
    const double growth = fib_growth(runs, ok);
    all_ok = all_ok && ok;
    const std::string fib_summary =
        format("weft fib at 1 worker, ns per task: fib 30 %.1f, fib 35 %.1f, fib 39 %.1f (fib 39 over fib 30: %.2f "
               "in this series; %.2f as the median of %d round%s of fib 30, 39, 30 in turn, each fib 39 over the "
               "fib 30 runs around it).",
               ns_per_task(fibs[0]), ns_per_task(fibs[5]), ns_per_task(fibs[9]),
               ns_per_task(fibs[9]) / ns_per_task(fibs[0]), growth, runs, runs == 1 ? "" : "s");
    std::printf("%s\n", fib_summary.c_str());

    // Peak memory, each run alone in a fresh process.
    std::fprintf(stderr, "running skynet %d in child processes for max RSS ...\n", k_rss_depth);
    const long rss_base = child_peak_rss_kib("none", 1);
    if (rss_base < 0) all_ok = false;
    const std::string rss_title = format("Max RSS of skynet %d, one process per run (the program with no run: %.1f MiB):",
                                         k_rss_depth, rss_base / 1024.0);
    std::printf("\n%s\n", rss_title.c_str());
    std::vector<std::string> rss_lines;
    std::vector<std::pair<unsigned, double>> rss_ratios;  // workers, weft over oneTBB
    const std::vector<unsigned> rss_counts = wide > 1 ? std::vector<unsigned>{1, wide} : std::vector<unsigned>{1};
    for (unsigned c : rss_counts) {
        const long weft_kib = child_peak_rss_kib("weft", c);
        const long tbb_kib = child_peak_rss_kib("tbb", c);
        if (weft_kib < 0 || tbb_kib < 0) {
            std::fprintf(stderr, "weft-compare: a skynet %d child process failed\n", k_rss_depth);
            all_ok = false;
            continue;
        }
        const double ratio = static_cast<double>(weft_kib) / static_cast<double>(tbb_kib);
        rss_ratios.emplace_back(c, ratio);
        rss_lines.push_back(format("%uw: weft %.1f MiB, oneTBB %.1f MiB, weft/oneTBB %.2f", c, weft_kib / 1024.0,
                                   tbb_kib / 1024.0, ratio));
        std::printf("  %s\n", rss_lines.back().c_str());
    }

    const std::size_t two = counts.size() > 1 ? 1 : 0;  // counts: 1, 2, 4, ...
    const std::vector<std::string> targets =
        targets_summary(rows, two, growth, rss_ratios);
    std::printf("\nIssue 8's targets in this run (libfork and TooManyCooks: scripts/beside_others.sh):\n");
    for (const std::string& t : targets) std::printf("  - %s\n", t.c_str());

    if (!data_dir.empty()) {
        // forkjoin.tsv: one line per bench and worker count, times in ms.
        std::ofstream fj(data_dir + "/forkjoin.tsv");
        // Speedups are over the same runtime's 1-worker time.
        fj << "# bench\tparam\tworkers\tweft_ms\ttbb_ms\tserial_ms\tweft_speedup\ttbb_speedup\tweft_over_tbb\n";
        for (const result_row& r : rows)
            for (std::size_t i = 0; i < counts.size(); ++i)
                fj << r.name << '\t' << r.param << '\t' << counts[i] << '\t' << r.weft[i] * 1e3 << '\t'
                   << r.tbb[i] * 1e3 << '\t' << r.serial * 1e3 << '\t' << r.weft_speedup[i] << '\t'
                   << r.tbb_speedup[i] << '\t' << r.weft[i] / r.tbb[i] << '\n';
        std::ofstream fs(data_dir + "/fib_series.tsv");
        fs << "# n\ttasks\tms\tns_per_task\n";
        for (const fib_point& f : fibs) fs << f.n << '\t' << f.tasks << '\t' << f.seconds * 1e3 << '\t' << ns_per_task(f) << '\n';

        // table.md: what scripts/update_bench_doc.py puts into docs/benchmarks.md.
        std::ofstream md(data_dir + "/table.md");
        md << "| bench | param | serial ms | weft 1w | weft " << wide_w << " | oneTBB 1w | oneTBB " << wide_w
           << " | weft/TBB 1w | weft/TBB " << wide_w << " | weft ns/task (1w) |\n|---|---|---|---|---|---|---|---|---|---|\n";
        for (const result_row& r : rows)
            md << format("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %s |\n", r.name.c_str(), r.param,
                         r.serial * 1e3, r.weft[0] * 1e3, r.weft.back() * 1e3, r.tbb[0] * 1e3, r.tbb.back() * 1e3,
                         r.weft[0] / r.tbb[0], r.weft.back() / r.tbb.back(), per_task_text(r).c_str());
        if (!speedups.empty()) md << '\n' << speedups << '\n';
        if (!floor_summary.empty()) md << '\n' << floor_summary << '\n';
        md << '\n' << fib_summary << "\n\n" << rss_title;
        for (std::size_t i = 0; i < rss_lines.size(); ++i) md << (i == 0 ? " " : "; ") << rss_lines[i];
        md << ".\n\nIssue 8's targets in this run (beside libfork and TooManyCooks: `scripts/beside_others.sh`, below):\n\n";
        for (const std::string& t : targets) md << "- " << t << '\n';
        if (!fj || !fs || !md) {
            std::fprintf(stderr, "weft-compare: writing into \"%s\" failed\n", data_dir.c_str());
            return 1;
        }
    }
    if (!all_ok) {
        std::fprintf(stderr, "weft-compare: a run gave a wrong answer\n");
        return 2;
    }
    return 0;
}
