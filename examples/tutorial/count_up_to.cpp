// Tutorial §1, a simple generator: values are produced one at a time, on demand.
//
//     def count_up_to(max):
//         count = 1
//         while count <= max:
//             yield count
//             count += 1
//
//     counter = count_up_to(5)
//     for num in counter:
//         print(num)  # Output: 1, 2, 3, 4, 5
#include <weft/weft.hpp>

#include <cstdio>

weft::generator<int> count_up_to(int max) {
    int count = 1;
    while (count <= max) {
        co_yield count;  // suspends here until the loop asks for the next value
        ++count;
    }
}

int main() {
    auto counter = count_up_to(5);
    for (int num : counter) std::printf("%d\n", num);
}
