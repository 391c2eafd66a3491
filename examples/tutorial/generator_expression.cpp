// Tutorial §2(A), a generator expression: a lazy view instead of a list.
//
//     gen = (x * 2 for x in range(5))
//     print(list(gen))  # Output: [0, 2, 4, 6, 8]
//
// std::views are lazy like a generator expression: nothing is computed until the
// loop pulls values. (weft::generator<T> works with views the same way.)
#include <cstdio>
#include <ranges>

int main() {
    auto gen = std::views::iota(0, 5) | std::views::transform([](int x) { return x * 2; });
    // print(list(gen)): Python's list formatting, by hand.
    std::printf("[");
    const char* sep = "";
    for (int v : gen) {
        std::printf("%s%d", sep, v);
        sep = ", ";
    }
    std::printf("]\n");
}
