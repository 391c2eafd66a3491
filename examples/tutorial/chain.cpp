// Tutorial §2(B), chaining generators: one sequence over several.
//
//     def generator_one():
//         yield 1
//         yield 2
//
//     def generator_two():
//         yield 3
//         yield 4
//
//     chained = itertools.chain(generator_one(), generator_two())
//     for item in chained:
//         print(item)  # Output: 1, 2, 3, 4
#include <weft/weft.hpp>

#include <cstdio>

weft::generator<int> generator_one() {
    co_yield 1;
    co_yield 2;
}

weft::generator<int> generator_two() {
    co_yield 3;
    co_yield 4;
}

int main() {
    auto chained = weft::chain(generator_one(), generator_two());
    for (int item : chained) std::printf("%d\n", item);
}
