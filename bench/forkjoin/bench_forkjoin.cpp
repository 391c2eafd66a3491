// Google Benchmark suite for the fork-join problems: sequential, weft and oneTBB
// side by side, weft and oneTBB swept over worker counts 1..hardware threads.
// Counter ns_per_task = time / forks. Ratios to the baselines: weft-compare.
#include "tbb_problems.hpp"

#include <benchmark/benchmark.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <thread>

namespace {

constexpr int k_fib = 30;
constexpr int k_skynet = 6;
constexpr int k_nqueens = 10;
constexpr int k_matmul = 512;

void set_per_task(benchmark::State& state, std::uint64_t tasks) {
    state.counters["ns_per_task"] = benchmark::Counter(
        static_cast<double>(tasks) * static_cast<double>(state.iterations()) * 1e-9,
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void serial_fib(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(forkjoin::serial::fib(k_fib));
    set_per_task(state, forkjoin::fib_tasks(k_fib));
}
void weft_fib(benchmark::State& state) {
    weft::runtime rt(weft::config{.workers = static_cast<unsigned>(state.range(0))});
    for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(forkjoin::weft_impl::fib(k_fib)));
    set_per_task(state, forkjoin::fib_tasks(k_fib));
}
void tbb_fib(benchmark::State& state) {
    tbb::task_arena arena(static_cast<int>(state.range(0)));
    for (auto _ : state) arena.execute([] { benchmark::DoNotOptimize(forkjoin::tbb_impl::fib(k_fib)); });
    set_per_task(state, forkjoin::fib_tasks(k_fib));
}

void serial_skynet(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(forkjoin::serial::skynet(0, forkjoin::skynet_size(k_skynet)));
    set_per_task(state, forkjoin::skynet_tasks(k_skynet));
}
void weft_skynet(benchmark::State& state) {
    weft::runtime rt(weft::config{.workers = static_cast<unsigned>(state.range(0))});
    for (auto _ : state)
        benchmark::DoNotOptimize(rt.block_on(forkjoin::weft_impl::skynet(0, forkjoin::skynet_size(k_skynet))));
    set_per_task(state, forkjoin::skynet_tasks(k_skynet));
}
void tbb_skynet(benchmark::State& state) {
    tbb::task_arena arena(static_cast<int>(state.range(0)));
    for (auto _ : state)
        arena.execute([] { benchmark::DoNotOptimize(forkjoin::tbb_impl::skynet(0, forkjoin::skynet_size(k_skynet))); });
    set_per_task(state, forkjoin::skynet_tasks(k_skynet));
}

void serial_nqueens(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(forkjoin::serial::nqueens(k_nqueens, 0, forkjoin::board{}));
}
void weft_nqueens(benchmark::State& state) {
    weft::runtime rt(weft::config{.workers = static_cast<unsigned>(state.range(0))});
    for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(forkjoin::weft_impl::nqueens(k_nqueens, 0, forkjoin::board{})));
}
void tbb_nqueens(benchmark::State& state) {
    tbb::task_arena arena(static_cast<int>(state.range(0)));
    for (auto _ : state)
        arena.execute([] { benchmark::DoNotOptimize(forkjoin::tbb_impl::nqueens(k_nqueens, 0, forkjoin::board{})); });
}

void serial_matmul(benchmark::State& state) {
    forkjoin::matrices m(k_matmul);
    for (auto _ : state) forkjoin::serial::matmul(m.a.data(), m.b.data(), m.c.data(), m.n, m.n);
}
void weft_matmul(benchmark::State& state) {
    forkjoin::matrices m(k_matmul);
    weft::runtime rt(weft::config{.workers = static_cast<unsigned>(state.range(0))});
    for (auto _ : state) rt.block_on(forkjoin::weft_impl::matmul(m.a.data(), m.b.data(), m.c.data(), m.n, m.n));
}
void tbb_matmul(benchmark::State& state) {
    forkjoin::matrices m(k_matmul);
    tbb::task_arena arena(static_cast<int>(state.range(0)));
    for (auto _ : state) arena.execute([&] { forkjoin::tbb_impl::matmul(m.a.data(), m.b.data(), m.c.data(), m.n, m.n); });
}

void worker_sweep(benchmark::internal::Benchmark* b) {
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int w = 1; w <= hw; w *= 2) b->Arg(w);
    if ((hw & (hw - 1)) != 0) b->Arg(hw);
    b->ArgName("workers")->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(serial_fib)->Unit(benchmark::kMillisecond);
BENCHMARK(weft_fib)->Apply(worker_sweep);
BENCHMARK(tbb_fib)->Apply(worker_sweep);
BENCHMARK(serial_skynet)->Unit(benchmark::kMillisecond);
BENCHMARK(weft_skynet)->Apply(worker_sweep);
BENCHMARK(tbb_skynet)->Apply(worker_sweep);
BENCHMARK(serial_nqueens)->Unit(benchmark::kMillisecond);
BENCHMARK(weft_nqueens)->Apply(worker_sweep);
BENCHMARK(tbb_nqueens)->Apply(worker_sweep);
BENCHMARK(serial_matmul)->Unit(benchmark::kMillisecond);
BENCHMARK(weft_matmul)->Apply(worker_sweep);
BENCHMARK(tbb_matmul)->Apply(worker_sweep);

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
