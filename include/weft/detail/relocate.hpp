// relocates_by_copy<T>: an object of type T may move to another address by a
// copy of its bytes, after which the old address holds nothing to destroy.
// inplace_vector uses it to move such elements without a move constructor per
// element and a destructor per moved-from element: when_all over an
// inplace_vector of tasks moves the children once, from the caller's vector
// into the awaitable, on every fork-join of nqueens.
//
// False unless specialized: by types that are one owning pointer and nothing
// that points back at them (task<T>: a coroutine handle, task.hpp). Trivially
// copyable types need no specialization: their move already is a copy.
#pragma once

#include <cstddef>
#include <cstring>

namespace weft::detail {

template <class T>
inline constexpr bool relocates_by_copy = false;

// Copies the bytes of n objects of type T from `from` to `to` (not overlapping),
// one object at a time. The empty asm hides the index from the optimizer, which
// would otherwise turn the loop into a call to memmove: for the one or two
// children a when_all over a vector usually gets, a library call costs more
// than the copies (callgrind, nqueens: 8.6 instructions per node).
template <class T>
inline void relocate_bytes(std::byte* to, const std::byte* from, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        std::memcpy(to + i * sizeof(T), from + i * sizeof(T), sizeof(T));
#if defined(__GNUC__) || defined(__clang__)
        asm("" : "+r"(i));
#endif
    }
}

}  // namespace weft::detail
