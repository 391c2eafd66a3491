// N-queens by fork-join: every legal queen placement is a child task, and the
// children of a row live in a weft::inplace_vector, so forking needs no heap
// allocation. Prints the number of solutions; exits 1 if it is wrong.
//   nqueens [N]   (N in 1..16, default 10)
#include <weft/weft.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

constexpr int k_max = 16;
using board = std::array<int, k_max>;  // board[r]: the column of the queen in row r

bool legal(const board& b, int row, int col) {
    for (int r = 0; r < row; ++r) {
        const int d = b[static_cast<std::size_t>(r)] - col;
        if (d == 0 || d == row - r || -d == row - r) return false;  // same column or diagonal
    }
    return true;
}

weft::task<std::uint64_t> solve(int n, int row, board b) {
    if (row == n) co_return 1;
    weft::inplace_vector<weft::task<std::uint64_t>, k_max> children;  // at most n
    for (int col = 0; col < n; ++col) {
        if (!legal(b, row, col)) continue;
        board next = b;
        next[static_cast<std::size_t>(row)] = col;
        children.push_back(solve(n, row + 1, next));
    }
    std::uint64_t total = 0;
    for (std::uint64_t r : co_await weft::when_all(std::move(children))) total += r;
    co_return total;
}

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 10;
    if (n < 1 || n > k_max) {
        std::fprintf(stderr, "nqueens: N must be in 1..%d, got \"%s\"\n", k_max, argv[1]);
        return 2;
    }
    constexpr std::uint64_t known[] = {1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680, 14200, 73712, 365596, 2279184, 14772512};
    const std::uint64_t solutions = weft::run(solve(n, 0, board{}));
    std::printf("%d queens: %llu solutions\n", n, static_cast<unsigned long long>(solutions));
    return solutions == known[n - 1] ? 0 : 1;
}
