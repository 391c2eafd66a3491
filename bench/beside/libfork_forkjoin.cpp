// fib, skynet, nqueens and matmul on libfork (v3.8), with weft-forkjoin's problem
// definitions and output, for scripts/beside_others.sh. Not part of the meson
// build: libfork is not a Debian package; the script compiles this file against
// a libfork checkout the user points it to. The answers, nqueens' board check and
// matmul's data, leaf and spot check are weft-forkjoin's (bench/forkjoin/problem_data.hpp).
//
//   libfork-forkjoin BENCH PARAM WORKERS   (BENCH: fib | skynet | nqueens | matmul)
//
// Like weft-forkjoin: one warm-up run, one timed run, "output:" and "duration:";
// exit status 2 on a wrong answer.
#include "../forkjoin/problem_data.hpp"

#include <libfork.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

constexpr auto fib = [](auto fib, int n) LF_STATIC_CALL -> lf::task<std::uint64_t> {
    if (n < 2) co_return static_cast<std::uint64_t>(n);
    std::uint64_t a = 0, b = 0;
    co_await lf::fork[&a, fib](n - 1);
    co_await lf::call[&b, fib](n - 2);
    co_await lf::join;
    co_return a + b;
};

// 10 children per node: nine forked, the last called, as the public suite does.
constexpr auto skynet = [](auto skynet, std::uint64_t num, std::uint64_t size) LF_STATIC_CALL
    -> lf::task<std::uint64_t> {
    if (size == 1) co_return num;
    const std::uint64_t child = size / 10;
    std::array<std::uint64_t, 10> r{};
    for (std::uint64_t i = 0; i < 9; ++i) co_await lf::fork[&r[i], skynet](num + i * child, child);
    co_await lf::call[&r[9], skynet](num + 9 * child, child);
    co_await lf::join;
    std::uint64_t sum = 0;
    for (std::uint64_t v : r) sum += v;
    co_return sum;
};

// As bench/forkjoin/problems.hpp: one child per legal column, the board copied.
using forkjoin::board;
using forkjoin::queen_ok;

constexpr auto nqueens = [](auto nqueens, int n, int row, board b) LF_STATIC_CALL -> lf::task<std::uint64_t> {
    if (row == n) co_return 1;
    std::array<std::uint64_t, 16> parts{};
    for (int col = 0; col < n; ++col) {
        if (!queen_ok(b, row, col)) continue;
        board next = b;
        next[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
        co_await lf::fork[&parts[static_cast<std::size_t>(col)], nqueens](n, row + 1, next);
    }
    co_await lf::join;
    std::uint64_t total = 0;
    for (std::uint64_t v : parts) total += v;
    co_return total;
};

// As weft's (forkjoin::split: two phases of four quadrant products), each
// phase's four in parallel: three forked, the last called.
constexpr auto matmul = [](auto matmul, const int* a, const int* b, int* c, int n, int stride) LF_STATIC_CALL
    -> lf::task<void> {
    using namespace forkjoin;
    if (n <= k_matmul_leaf) co_return matmul_leaf(a, b, c, n, stride);
    const auto [A, B, C, h] = split(a, b, c, n, stride);
    co_await lf::fork[matmul](A[q11], B[q11], C[q11], h, stride);
    co_await lf::fork[matmul](A[q11], B[q12], C[q12], h, stride);
    co_await lf::fork[matmul](A[q21], B[q11], C[q21], h, stride);
    co_await lf::call[matmul](A[q21], B[q12], C[q22], h, stride);
    co_await lf::join;
    co_await lf::fork[matmul](A[q12], B[q21], C[q11], h, stride);
    co_await lf::fork[matmul](A[q12], B[q22], C[q12], h, stride);
    co_await lf::fork[matmul](A[q22], B[q21], C[q21], h, stride);
    co_await lf::call[matmul](A[q22], B[q22], C[q22], h, stride);
    co_await lf::join;
};

bool right_answer(const std::string& bench, int param, std::uint64_t out, const forkjoin::matrices& m) {
    if (bench == "fib") return out == forkjoin::fib_expected(param);
    if (bench == "skynet") return out == forkjoin::skynet_expected(param);
    if (bench == "nqueens") return out == forkjoin::nqueens_expected(param);
    return m.spot_check();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: libfork-forkjoin fib|skynet|nqueens|matmul PARAM WORKERS\n");
        return 2;
    }
    const std::string bench = argv[1];
    const int param = std::atoi(argv[2]);
    const int workers = std::atoi(argv[3]);
    if (workers < 1 || param < 1 || (bench == "nqueens" && param > 16) || (bench == "skynet" && param > 9) ||
        (bench == "matmul" && (param < 32 || param > 8192 || (param & (param - 1)) != 0))) {
        std::fprintf(stderr, "libfork-forkjoin: PARAM or WORKERS out of range\n");
        return 2;
    }
    if (bench != "fib" && bench != "skynet" && bench != "nqueens" && bench != "matmul") {
        std::fprintf(stderr, "libfork-forkjoin: unknown bench \"%s\"\n", bench.c_str());
        return 2;
    }
    lf::lazy_pool pool(static_cast<std::size_t>(workers));
    const std::uint64_t skynet_size = bench == "skynet" ? forkjoin::skynet_size(param) : 1;
    forkjoin::matrices m(bench == "matmul" ? param : 32);
    auto once = [&]() -> std::uint64_t {
        if (bench == "fib") return lf::sync_wait(pool, fib, param);
        if (bench == "nqueens") return lf::sync_wait(pool, nqueens, param, 0, board{});
        if (bench == "matmul") {
            m.clear_result();
            lf::sync_wait(pool, matmul, m.a.data(), m.b.data(), m.c.data(), m.n, m.n);
            return static_cast<std::uint64_t>(m.c[0]);
        }
        return lf::sync_wait(pool, skynet, std::uint64_t{0}, skynet_size);
    };
    once();  // warm-up
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t out = once();
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("output: %llu\nduration: %lld us\n", static_cast<unsigned long long>(out), static_cast<long long>(us));
    if (!right_answer(bench, param, out, m)) {
        std::fprintf(stderr, "libfork-forkjoin: wrong answer for %s %d\n", bench.c_str(), param);
        return 2;
    }
    return 0;
}
