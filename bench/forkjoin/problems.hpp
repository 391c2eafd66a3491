// The four fork-join problems of the public suite (tzcnt/runtime-benchmarks), each
// written three ways side by side: sequential, weft (when_all), oneTBB
// (tbb::task_group). Shared by weft-forkjoin, the comparison driver and the
// Google Benchmark suite, so every number compares the same work.
#pragma once

#include <weft/weft.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace forkjoin {

// ---- fib: fork fib(n-1) and fib(n-2) ------------------------------------------

inline std::uint64_t fib_expected(int n) {
    std::uint64_t a = 0, b = 1;
    for (int i = 0; i < n; ++i) b = std::exchange(a, b) + b;
    return a;
}
inline std::uint64_t fib_tasks(int n) { return 2 * fib_expected(n + 1) - 1; }  // calls made

namespace serial {
inline std::uint64_t fib(int n) { return n < 2 ? static_cast<std::uint64_t>(n) : fib(n - 1) + fib(n - 2); }
}  // namespace serial

namespace weft_impl {
inline weft::task<std::uint64_t> fib(int n) {
    if (n < 2) co_return static_cast<std::uint64_t>(n);
    auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
    co_return a + b;
}
}  // namespace weft_impl

// ---- skynet: 10 children per node down to depth D; leaves return their number --

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

namespace serial {
inline std::uint64_t skynet(std::uint64_t num, std::uint64_t size) {
    if (size == 1) return num;
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < 10; ++i) sum += skynet(num + i * (size / 10), size / 10);
    return sum;
}
}  // namespace serial

namespace weft_impl {
// The 10 children go to one variadic when_all, built by a lambda over an index
// pack (a plain function call, not a coroutine: no frame of its own).
inline weft::task<std::uint64_t> skynet(std::uint64_t num, std::uint64_t size) {
    if (size == 1) co_return num;
    const std::uint64_t child = size / 10;
    auto results = co_await [&]<std::size_t... I>(std::index_sequence<I...>) {
        return weft::when_all(skynet(num + I * child, child)...);
    }(std::make_index_sequence<10>{});
    co_return std::apply([](auto... r) { return (r + ...); }, results);
}
}  // namespace weft_impl

// ---- nqueens: one task per legal queen position, each with a copied board -------

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

namespace serial {
inline std::uint64_t nqueens(int n, int row, board b) {
    if (row == n) return 1;
    std::uint64_t total = 0;
    for (int col = 0; col < n; ++col) {
        if (!queen_ok(b, row, col)) continue;
        board next = b;
        next[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
        total += nqueens(n, row + 1, next);
    }
    return total;
}
}  // namespace serial

namespace weft_impl {
inline weft::task<std::uint64_t> nqueens(int n, int row, board b);

using nqueens_children = weft::inplace_vector<weft::task<std::uint64_t>, k_nqueens_max>;

// The children of one node, one per legal column. A plain function, not part of
// the coroutine: GCC keeps a coroutine's locals in its frame even when no
// co_await separates their uses, so this loop's counters would live in memory.
inline nqueens_children nqueens_moves(int n, int row, const board& b) {
    nqueens_children children;
    for (int col = 0; col < n; ++col) {
        if (!queen_ok(b, row, col)) continue;
        board next = b;
        next[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
        children.push_back(nqueens(n, row + 1, next));
    }
    return children;
}

// At most one child per column: an inplace_vector keeps the children and their
// results in this frame, with no heap allocation.
inline weft::task<std::uint64_t> nqueens(int n, int row, board b) {
    if (row == n) co_return 1;
    std::uint64_t total = 0;
    for (std::uint64_t r : co_await weft::when_all(nqueens_moves(n, row, b))) total += r;
    co_return total;
}
}  // namespace weft_impl

// ---- matmul: int N x N, recursive 4-way split in two phases, 32 x 32 leaves -----

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
// weft-forkjoin must run on any x86-64, so the leaf is compiled twice instead,
// for AVX2 and for the baseline, and the loader picks the clone this CPU runs
// (GCC/Clang target_clones, an ifunc). The sequential, weft and oneTBB rows all
// call this one function, so ratios between them are unchanged; against other
// runtimes built with -march=native it takes away a handicap (matmul 1024
// sequential on the 2-core VM: 228 ms baseline, 172 ms AVX2 clone).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define FORKJOIN_LEAF_CLONES __attribute__((target_clones("avx2", "default")))
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

namespace serial {
inline void matmul(const int* a, const int* b, int* c, int n, int stride) {
    if (n <= k_matmul_leaf) return matmul_leaf(a, b, c, n, stride);
    const int h = n / 2;
    const auto A = quadrants(a, h, stride);
    const auto B = quadrants(b, h, stride);
    const auto C = quadrants(c, h, stride);
    matmul(A[q11], B[q11], C[q11], h, stride); matmul(A[q11], B[q12], C[q12], h, stride);
    matmul(A[q21], B[q11], C[q21], h, stride); matmul(A[q21], B[q12], C[q22], h, stride);
    matmul(A[q12], B[q21], C[q11], h, stride); matmul(A[q12], B[q22], C[q12], h, stride);
    matmul(A[q22], B[q21], C[q21], h, stride); matmul(A[q22], B[q22], C[q22], h, stride);
}
}  // namespace serial

namespace weft_impl {
inline weft::task<void> matmul(const int* a, const int* b, int* c, int n, int stride) {
    if (n <= k_matmul_leaf) {
        matmul_leaf(a, b, c, n, stride);
        co_return;
    }
    const int h = n / 2;
    const auto A = quadrants(a, h, stride);
    const auto B = quadrants(b, h, stride);
    const auto C = quadrants(c, h, stride);
    // Phase 1 and phase 2 write disjoint quadrants in parallel; phase 2 adds onto
    // phase 1's results, so it waits for it.
    co_await weft::when_all(matmul(A[q11], B[q11], C[q11], h, stride), matmul(A[q11], B[q12], C[q12], h, stride),
                            matmul(A[q21], B[q11], C[q21], h, stride), matmul(A[q21], B[q12], C[q22], h, stride));
    co_await weft::when_all(matmul(A[q12], B[q21], C[q11], h, stride), matmul(A[q12], B[q22], C[q12], h, stride),
                            matmul(A[q22], B[q21], C[q21], h, stride), matmul(A[q22], B[q22], C[q22], h, stride));
}
}  // namespace weft_impl

}  // namespace forkjoin
