// Text from a user for an error message: a NUL byte, which would end the message
// for anyone who prints it as a C string, shown as \0.
#pragma once

#include <string>
#include <string_view>

namespace weft::detail {

inline std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\0')
            out += "\\0";
        else
            out += c;
    }
    return out;
}

}  // namespace weft::detail
