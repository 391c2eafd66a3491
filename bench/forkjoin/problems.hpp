// The four fork-join problems of the public suite (tzcnt/runtime-benchmarks), each
// written three ways side by side: sequential, weft (when_all), oneTBB
// (tbb::task_group). Shared by weft-forkjoin, the comparison driver and the
// Google Benchmark suite, so every number compares the same work.
#pragma once

#include "problem_data.hpp"

#include <weft/weft.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace forkjoin {

// ---- fib: fork fib(n-1) and fib(n-2) ------------------------------------------

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
// (data, leaf and split: problem_data.hpp)

namespace serial {
inline void matmul(const int* a, const int* b, int* c, int n, int stride) {
    if (n <= k_matmul_leaf) return matmul_leaf(a, b, c, n, stride);
    const auto [A, B, C, h] = split(a, b, c, n, stride);
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
    const auto [A, B, C, h] = split(a, b, c, n, stride);  // the two phases: problem_data.hpp
    co_await weft::when_all(matmul(A[q11], B[q11], C[q11], h, stride), matmul(A[q11], B[q12], C[q12], h, stride),
                            matmul(A[q21], B[q11], C[q21], h, stride), matmul(A[q21], B[q12], C[q22], h, stride));
    co_await weft::when_all(matmul(A[q12], B[q21], C[q11], h, stride), matmul(A[q12], B[q22], C[q12], h, stride),
                            matmul(A[q22], B[q21], C[q21], h, stride), matmul(A[q22], B[q22], C[q22], h, stride));
}
}  // namespace weft_impl

}  // namespace forkjoin
