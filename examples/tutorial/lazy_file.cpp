// Tutorial §6, best practice 1: "use generators for memory efficiency". A file of
// any size is read through a generator one line at a time, so memory stays at one
// line however large the file is.
//
//     def read_lines(path):
//         with open(path) as f:
//             for line in f:
//                 yield line.rstrip("\n")
//
//     lines = longest = characters = 0
//     for line in read_lines(sys.argv[1]):
//         lines += 1
//         characters += len(line)
//         longest = max(longest, len(line))
//     print(f"lines: {lines}, characters: {characters}, longest: {longest}")
#include <weft/weft.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

weft::generator<std::string> read_lines(std::string path) {
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot open " + path);
    std::string line;
    while (std::getline(f, line)) co_yield line;  // the caller sees it before the next is read
    // A read error (Python's IsADirectoryError, EIO) is not an empty file.
    if (f.bad()) throw std::runtime_error("cannot read " + path);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: lazy_file PATH\n");
        return 2;
    }
    std::size_t lines = 0, characters = 0, longest = 0;
    try {
        for (const std::string& line : read_lines(argv[1])) {
            ++lines;
            characters += line.size();
            longest = std::max(longest, line.size());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lazy_file: %s\n", e.what());
        return 1;
    }
    std::printf("lines: %zu, characters: %zu, longest: %zu\n", lines, characters, longest);
}
