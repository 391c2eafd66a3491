// The weft side of every fork-join problem, in a translation unit of its own: see
// weft_runs.hpp.
#include "weft_runs.hpp"

namespace forkjoin::weft_run {

std::uint64_t fib(weft::runtime& rt, int n) { return rt.block_on(weft_impl::fib(n)); }

std::uint64_t skynet(weft::runtime& rt, int depth) { return rt.block_on(weft_impl::skynet(0, skynet_size(depth))); }

std::uint64_t nqueens(weft::runtime& rt, int n) { return rt.block_on(weft_impl::nqueens(n, 0, board{})); }

void matmul(weft::runtime& rt, matrices& m) { rt.block_on(weft_impl::matmul(m.a.data(), m.b.data(), m.c.data(), m.n, m.n)); }

}  // namespace forkjoin::weft_run
