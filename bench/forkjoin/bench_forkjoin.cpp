// Google Benchmark suite for the fork-join problems: sequential, weft and oneTBB
// side by side, oneTBB and weft swept over worker counts 1..hardware threads.
// Counters: ns_per_task = time / forks (fib, skynet); vs_serial = this row's time
// over the sequential row's; vs_oneTBB (weft rows) = weft's time over oneTBB's at
// the same worker count. The ratios come from the same process: each problem runs
// its sequential row, then oneTBB, then weft, and a row gets a ratio only when its
// baseline ran before it (a --benchmark_filter that skips the baseline drops it).
#include "tbb_problems.hpp"
#include "weft_runs.hpp"

#include <benchmark/benchmark.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <tuple>

namespace {

// Seconds per iteration of the last run of each (problem, runtime, workers). Google
// Benchmark calls a benchmark function several times while it sizes the run; the
// last call is the one it reports, and it overwrites what the earlier ones stored.
std::map<std::tuple<std::string, std::string, int>, double>& seconds_per_iteration() {
    static std::map<std::tuple<std::string, std::string, int>, double> m;
    return m;
}

// Runs the timed loop and sets the ratio counters; `workers` is 0 for sequential.
template <class Body>
void run_row(benchmark::State& state, const char* problem, const char* runtime, int workers, Body&& body) {
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) body();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                           static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
    auto& known = seconds_per_iteration();
    known[{problem, runtime, workers}] = seconds;
    if (auto serial = known.find({problem, "serial", 0}); serial != known.end() && workers != 0)
        state.counters["vs_serial"] = seconds / serial->second;
    if (auto tbb = known.find({problem, "oneTBB", workers}); tbb != known.end() && std::string(runtime) == "weft")
        state.counters["vs_oneTBB"] = seconds / tbb->second;
}

constexpr int k_fib = 30;
constexpr int k_skynet = 6;
constexpr int k_nqueens = 10;
constexpr int k_matmul = 512;

void set_per_task(benchmark::State& state, std::uint64_t tasks) {
    state.counters["ns_per_task"] = benchmark::Counter(
        static_cast<double>(tasks) * static_cast<double>(state.iterations()) * 1e-9,
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

int workers_of(const benchmark::State& state) { return static_cast<int>(state.range(0)); }

void serial_fib(benchmark::State& state) {
    run_row(state, "fib", "serial", 0, [] { benchmark::DoNotOptimize(forkjoin::serial::fib(k_fib)); });
    set_per_task(state, forkjoin::fib_tasks(k_fib));
}
void weft_fib(benchmark::State& state) {
    weft::runtime rt(weft::config{.workers = static_cast<unsigned>(workers_of(state))});
    run_row(state, "fib", "weft", workers_of(state),
            [&] { benchmark::DoNotOptimize(forkjoin::weft_run::fib(rt, k_fib)); });
    set_per_task(state, forkjoin::fib_tasks(k_fib));
}
void tbb_fib(benchmark::State& state) {
    tbb::task_arena arena(workers_of(state));
    run_row(state, "fib", "oneTBB", workers_of(state),
            [&] { arena.execute([] { benchmark::DoNotOptimize(forkjoin::tbb_impl::fib(k_fib)); }); });
    set_per_task(state, forkjoin::fib_tasks(k_fib));
}

void serial_skynet(benchmark::State& state) {
    run_row(state, "skynet", "serial", 0,
            [] { benchmark::DoNotOptimize(forkjoin::serial::skynet(0, forkjoin::skynet_size(k_skynet))); });
    set_per_task(state, forkjoin::skynet_tasks(k_skynet));
}
void weft_skynet(benchmark::State& state) {
    weft::runtime rt(weft::config{.workers = static_cast<unsigned>(workers_of(state))});
    run_row(state, "skynet", "weft", workers_of(state),
            [&] { benchmark::DoNotOptimize(forkjoin::weft_run::skynet(rt, k_skynet)); });
    set_per_task(state, forkjoin::skynet_tasks(k_skynet));
}
void tbb_skynet(benchmark::State& state) {
    tbb::task_arena arena(workers_of(state));
    run_row(state, "skynet", "oneTBB", workers_of(state), [&] {
        arena.execute([] { benchmark::DoNotOptimize(forkjoin::tbb_impl::skynet(0, forkjoin::skynet_size(k_skynet))); });
    });
    set_per_task(state, forkjoin::skynet_tasks(k_skynet));
}

void serial_nqueens(benchmark::State& state) {
    run_row(state, "nqueens", "serial", 0,
            [] { benchmark::DoNotOptimize(forkjoin::serial::nqueens(k_nqueens, 0, forkjoin::board{})); });
}
void weft_nqueens(benchmark::State& state) {
    weft::runtime rt(weft::config{.workers = static_cast<unsigned>(workers_of(state))});
    run_row(state, "nqueens", "weft", workers_of(state),
            [&] { benchmark::DoNotOptimize(forkjoin::weft_run::nqueens(rt, k_nqueens)); });
}
void tbb_nqueens(benchmark::State& state) {
    tbb::task_arena arena(workers_of(state));
    run_row(state, "nqueens", "oneTBB", workers_of(state), [&] {
        arena.execute([] { benchmark::DoNotOptimize(forkjoin::tbb_impl::nqueens(k_nqueens, 0, forkjoin::board{})); });
    });
}

void serial_matmul(benchmark::State& state) {
    forkjoin::matrices m(k_matmul);
    run_row(state, "matmul", "serial", 0,
            [&] { forkjoin::serial::matmul(m.a.data(), m.b.data(), m.c.data(), m.n, m.n); });
}
void weft_matmul(benchmark::State& state) {
    forkjoin::matrices m(k_matmul);
    weft::runtime rt(weft::config{.workers = static_cast<unsigned>(workers_of(state))});
    run_row(state, "matmul", "weft", workers_of(state),
            [&] { forkjoin::weft_run::matmul(rt, m); });
}
void tbb_matmul(benchmark::State& state) {
    forkjoin::matrices m(k_matmul);
    tbb::task_arena arena(workers_of(state));
    run_row(state, "matmul", "oneTBB", workers_of(state), [&] {
        arena.execute([&] { forkjoin::tbb_impl::matmul(m.a.data(), m.b.data(), m.c.data(), m.n, m.n); });
    });
}

void worker_sweep(benchmark::internal::Benchmark* b) {
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int w = 1; w <= hw; w *= 2) b->Arg(w);
    if ((hw & (hw - 1)) != 0) b->Arg(hw);
    b->ArgName("workers")->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

// Per problem: the baselines first (registration order is run order), so the weft
// rows find both in seconds_per_iteration().
BENCHMARK(serial_fib)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tbb_fib)->Apply(worker_sweep);
BENCHMARK(weft_fib)->Apply(worker_sweep);
BENCHMARK(serial_skynet)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tbb_skynet)->Apply(worker_sweep);
BENCHMARK(weft_skynet)->Apply(worker_sweep);
BENCHMARK(serial_nqueens)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tbb_nqueens)->Apply(worker_sweep);
BENCHMARK(weft_nqueens)->Apply(worker_sweep);
BENCHMARK(serial_matmul)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tbb_matmul)->Apply(worker_sweep);
BENCHMARK(weft_matmul)->Apply(worker_sweep);

int main(int argc, char** argv) {
    // Enough oneTBB threads for the widest arena in the sweep.
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                              std::max(1u, std::thread::hardware_concurrency()));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
