// fib, skynet and nqueens on libfork (v3.8), with weft-forkjoin's problem
// definitions and output, for scripts/beside_others.sh. Not part of the meson
// build: libfork is not a Debian package; the script compiles this file against
// a libfork checkout the user points it to.
//
//   libfork-forkjoin BENCH PARAM WORKERS   (BENCH: fib | skynet | nqueens)
//
// Like weft-forkjoin: one warm-up run, one timed run, "output:" and "duration:".
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
using board = std::array<signed char, 32>;

bool queen_ok(const board& b, int row, int col) {
    for (int r = 0; r < row; ++r) {
        const int c = b[static_cast<std::size_t>(r)];
        if (c == col || c - col == row - r || col - c == row - r) return false;
    }
    return true;
}

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

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: libfork-forkjoin fib|skynet|nqueens PARAM WORKERS\n");
        return 2;
    }
    const std::string bench = argv[1];
    const int param = std::atoi(argv[2]);
    const int workers = std::atoi(argv[3]);
    if (workers < 1 || param < 1 || (bench == "nqueens" && param > 16) || (bench == "skynet" && param > 9)) {
        std::fprintf(stderr, "libfork-forkjoin: PARAM or WORKERS out of range\n");
        return 2;
    }
    if (bench != "fib" && bench != "skynet" && bench != "nqueens") {
        std::fprintf(stderr, "libfork-forkjoin: unknown bench \"%s\"\n", bench.c_str());
        return 2;
    }
    lf::lazy_pool pool(static_cast<std::size_t>(workers));
    auto once = [&]() -> std::uint64_t {
        if (bench == "fib") return lf::sync_wait(pool, fib, param);
        if (bench == "nqueens") return lf::sync_wait(pool, nqueens, param, 0, board{});
        std::uint64_t size = 1;
        for (int i = 0; i < param; ++i) size *= 10;
        return lf::sync_wait(pool, skynet, std::uint64_t{0}, size);
    };
    once();  // warm-up
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t out = once();
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("output: %llu\nduration: %lld us\n", static_cast<unsigned long long>(out), static_cast<long long>(us));
    return 0;
}
