// What the four fork-join problems are, apart from any runtime: their expected
// answers and task counts, nqueens' board and its check, matmul's matrices, spot
// check, leaf kernel and quadrant split. No weft in it: problems.hpp writes the
// problems for the sequential code, weft and oneTBB on top of it, and the drivers
// of other runtimes (bench/beside/) use it too, so every runtime does the same
// work and is checked the same way.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace forkjoin {

// ---- fib -------------------------------------------------------------------------

inline std::uint64_t fib_expected(int n) {
    std::uint64_t a = 0, b = 1;
    for (int i = 0; i < n; ++i) b = std::exchange(a, b) + b;
    return a;
}
inline std::uint64_t fib_tasks(int n) { return 2 * fib_expected(n + 1) - 1; }  // calls made

// ---- skynet ----------------------------------------------------------------------

inline std::uint64_t skynet_size(int depth) {
    std::uint64_t s = 1;
    for (int i = 0; i < depth; ++i) s *= 10;
    return s;
}
inline std::uint64_t skynet_expected(int depth) {
    const std::uint64_t s = skynet_size(depth);
    return s * (s - 1) / 2;
}
inline std::uint64_t skynet_tasks(int depth) {
    std::uint64_t total = 0, level = 1;
    for (int i = 0; i <= depth; ++i, level *= 10) total += level;
    return total;
}

// ---- nqueens ---------------------------------------------------------------------

inline std::uint64_t nqueens_expected(int n) {
    static constexpr std::uint64_t answers[] = {1, 1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680, 14200, 73712,
                                                365596, 2279184, 14772512};
    return n >= 0 && n < 17 ? answers[n] : 0;
}

inline constexpr std::size_t k_nqueens_max = 16;  // the drivers accept n in 1..16
using board = std::array<signed char, 32>;

inline bool queen_ok(const board& b, int row, int col) {
    for (int r = 0; r < row; ++r) {
        const int c = b[static_cast<std::size_t>(r)];
        if (c == col || c - col == row - r || col - c == row - r) return false;
    }
    return true;
}

// ---- matmul ----------------------------------------------------------------------

struct matrices {
    int n;
    std::vector<int> a, b, c;
    explicit matrices(int size)
        : n(size), a(static_cast<std::size_t>(size) * size), b(a.size()), c(a.size(), 0) {
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
                a[idx(i, j)] = (i * 7 + j * 3) % 11 - 5;
                b[idx(i, j)] = (i * 5 + j * 11) % 13 - 6;
            }
    }
    std::size_t idx(int i, int j) const { return static_cast<std::size_t>(i) * static_cast<std::size_t>(n) + j; }
    void clear_result() { std::fill(c.begin(), c.end(), 0); }
    // Checks 256 entries against a direct dot product.
    bool spot_check() const {
        std::mt19937 rng(42);
        for (int k = 0; k < 256; ++k) {
            const int i = static_cast<int>(rng() % static_cast<unsigned>(n));
            const int j = static_cast<int>(rng() % static_cast<unsigned>(n));
            long long sum = 0;
            for (int t = 0; t < n; ++t) sum += static_cast<long long>(a[idx(i, t)]) * b[idx(t, j)];
            if (sum != c[idx(i, j)]) return false;
        }
        return true;
    }
};

// The suite builds every runtime's leaf with -march=native. An installed
// weft-forkjoin must run on any x86-64, so the leaf is compiled three times
// instead, for AVX-512F, AVX2 and the baseline, and the loader picks the best
// clone this CPU runs (GCC/Clang target_clones, an ifunc). The sequential, weft
// and oneTBB rows all call this one function, so ratios between them are
// unchanged; against other runtimes built with -march=native it takes away a
// handicap (matmul 1024 sequential on the AMD 2-core VM: 228 ms baseline, 172 ms
// AVX2 clone; weft matmul 1024 at 1 worker on the Intel one, AVX-512F clone over
// AVX2 clone: 0.91, the median of 8 alternating runs).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define FORKJOIN_LEAF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FORKJOIN_LEAF_CLONES
#endif

FORKJOIN_LEAF_CLONES inline void matmul_leaf(const int* a, const int* b, int* c, int n, int stride) {
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < n; ++k) {
            const int aik = a[i * stride + k];
            for (int j = 0; j < n; ++j) c[i * stride + j] += aik * b[k * stride + j];
        }
}

inline constexpr int k_matmul_leaf = 32;

// The four h x h quadrants of a matrix block in a row-major array of row length
// `stride`, indexed by q11 (top-left), q12, q21, q22 (bottom-right).
enum quadrant { q11, q12, q21, q22 };
template <class Int>
std::array<Int*, 4> quadrants(Int* m, int h, int stride) {
    return {m, m + h, m + h * stride, m + h * stride + h};
}

// One step of the recursion: C += A * B on n x n blocks (n > k_matmul_leaf) as
// eight products of h x h quadrants, in two phases of four that write disjoint
// quadrants of C: phase 1 is A11B11, A11B12, A21B11, A21B12 into C11, C12, C21,
// C22; phase 2 is A12B21, A12B22, A22B21, A22B22 into the same, adding onto
// phase 1. Every runtime's version runs a phase's four in parallel and waits
// between the phases.
struct matmul_split {
    std::array<const int*, 4> a, b;
    std::array<int*, 4> c;
    int h;
};
inline matmul_split split(const int* a, const int* b, int* c, int n, int stride) {
    const int h = n / 2;
    return {quadrants(a, h, stride), quadrants(b, h, stride), quadrants(c, h, stride), h};
}

}  // namespace forkjoin
