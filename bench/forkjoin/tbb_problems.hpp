// The fork-join problems of problems.hpp written for oneTBB (tbb::task_group),
// the baseline every weft number is compared with in the same run.
#pragma once

#include "problems.hpp"

#include <tbb/task_group.h>

namespace forkjoin::tbb_impl {

inline std::uint64_t fib(int n) {
    if (n < 2) return static_cast<std::uint64_t>(n);
    std::uint64_t a = 0;
    tbb::task_group g;
    g.run([&] { a = fib(n - 1); });
    const std::uint64_t b = fib(n - 2);
    g.wait();
    return a + b;
}

inline std::uint64_t skynet(std::uint64_t num, std::uint64_t size) {
    if (size == 1) return num;
    const std::uint64_t child = size / 10;
    std::uint64_t results[10];
    tbb::task_group g;
    for (std::uint64_t i = 1; i < 10; ++i) g.run([&, i] { results[i] = skynet(num + i * child, child); });
    results[0] = skynet(num, child);
    g.wait();
    std::uint64_t sum = 0;
    for (std::uint64_t r : results) sum += r;
    return sum;
}

inline std::uint64_t nqueens(int n, int row, board b) {
    if (row == n) return 1;
    std::uint64_t results[32] = {};
    tbb::task_group g;
    for (int col = 0; col < n; ++col) {
        if (!queen_ok(b, row, col)) continue;
        board next = b;
        next[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
        g.run([&results, n, row, next, col] { results[col] = nqueens(n, row + 1, next); });
    }
    g.wait();
    std::uint64_t total = 0;
    for (int col = 0; col < n; ++col) total += results[col];
    return total;
}

inline void matmul(const int* a, const int* b, int* c, int n, int stride) {
    if (n <= k_matmul_leaf) return matmul_leaf(a, b, c, n, stride);
    const auto [A, B, C, h] = split(a, b, c, n, stride);
    tbb::task_group g;
    g.run([=] { matmul(A[q11], B[q11], C[q11], h, stride); });
    g.run([=] { matmul(A[q11], B[q12], C[q12], h, stride); });
    g.run([=] { matmul(A[q21], B[q11], C[q21], h, stride); });
    matmul(A[q21], B[q12], C[q22], h, stride);
    g.wait();
    g.run([=] { matmul(A[q12], B[q21], C[q11], h, stride); });
    g.run([=] { matmul(A[q12], B[q22], C[q12], h, stride); });
    g.run([=] { matmul(A[q22], B[q21], C[q21], h, stride); });
    matmul(A[q22], B[q22], C[q22], h, stride);
    g.wait();
}

}  // namespace forkjoin::tbb_impl
