// Tutorial §2(C), sending data into a generator.
//
//     def echo():
//         while True:
//             value = yield
//             print(value)
//
//     gen = echo()
//     next(gen)  # Initialize the generator
//     gen.send('Hello!')  # Output: Hello!
//     gen.send('World!')  # Output: World!
//
// Python's bare `yield` produces None; here the generator yields nothing useful
// either (std::monostate) and receives strings: generator<T, S> with S = string.
#include <weft/weft.hpp>

#include <cstdio>
#include <string>
#include <variant>

weft::generator<std::monostate, std::string> echo() {
    for (;;) {
        std::string value = co_yield std::monostate{};
        std::printf("%s\n", value.c_str());
    }
}

int main() {
    auto gen = echo();
    gen.next();  // runs the body to its first co_yield, like next(gen)
    gen.send("Hello!");
    gen.send("World!");
}
