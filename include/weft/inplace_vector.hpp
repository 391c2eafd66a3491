// inplace_vector<T, N>: a vector of at most N elements stored inside the object,
// after C++26's std::inplace_vector (the subset below, same meanings). weft uses
// it so that `when_all` over a bounded, run-time number of tasks needs no heap
// allocation: `when_all(inplace_vector<task<T>, N>)` gives
// `inplace_vector<T, N>`, as `when_all(std::vector<task<T>>)` gives a vector.
//
// Pushing past the capacity throws weft::usage_error naming the capacity (where
// std::inplace_vector throws std::bad_alloc); at() out of range throws
// std::out_of_range. Iterators are plain pointers.
//
// Moving a vector of elements that relocate by copying their bytes (tasks,
// detail/relocate.hpp) copies the bytes and leaves the source empty, as a
// moved-from std::vector is; any other element type is moved one by one and the
// source keeps its moved-from elements, as std::inplace_vector's does.
#pragma once

#include <weft/detail/relocate.hpp>
#include <weft/errors.hpp>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace weft {

template <class T, std::size_t N>
class inplace_vector {
public:
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using reference = T&;
    using const_reference = const T&;
    using pointer = T*;
    using const_pointer = const T*;
    using iterator = T*;
    using const_iterator = const T*;

    inplace_vector() noexcept = default;
    inplace_vector(std::initializer_list<T> values)
        requires std::is_copy_constructible_v<T>
    {
        for (const T& v : values) push_back(v);
    }
    inplace_vector(const inplace_vector& o)
        requires std::is_copy_constructible_v<T>
    {
        for (const T& v : o) unchecked_emplace_back(v);
    }
    inplace_vector(inplace_vector&& o) noexcept(std::is_nothrow_move_constructible_v<T>) { take_elements(o); }
    inplace_vector& operator=(const inplace_vector& o)
        requires std::is_copy_constructible_v<T>
    {
        if (this != &o) {
            clear();
            for (const T& v : o) unchecked_emplace_back(v);
        }
        return *this;
    }
    inplace_vector& operator=(inplace_vector&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
        if (this != &o) {
            clear();
            take_elements(o);
        }
        return *this;
    }
    ~inplace_vector() { clear(); }

    static constexpr size_type capacity() noexcept { return N; }
    static constexpr size_type max_size() noexcept { return N; }
    size_type size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    T* data() noexcept { return reinterpret_cast<T*>(storage_); }
    const T* data() const noexcept { return reinterpret_cast<const T*>(storage_); }
    iterator begin() noexcept { return data(); }
    iterator end() noexcept { return data() + size_; }
    const_iterator begin() const noexcept { return data(); }
    const_iterator end() const noexcept { return data() + size_; }
    const_iterator cbegin() const noexcept { return begin(); }
    const_iterator cend() const noexcept { return end(); }

    // Unchecked, as for std::vector: i < size().
    T& operator[](size_type i) noexcept { return data()[i]; }
    const T& operator[](size_type i) const noexcept { return data()[i]; }
    T& at(size_type i) { return (*this)[checked_index(i)]; }
    const T& at(size_type i) const { return (*this)[checked_index(i)]; }
    T& front() noexcept { return data()[0]; }
    const T& front() const noexcept { return data()[0]; }
    T& back() noexcept { return data()[size_ - 1]; }
    const T& back() const noexcept { return data()[size_ - 1]; }

    template <class... Args>
    T& emplace_back(Args&&... args) {
        if (size_ == N)
            throw usage_error("weft::inplace_vector: push_back on a full vector (capacity " + std::to_string(N) + ")");
        return unchecked_emplace_back(std::forward<Args>(args)...);
    }
    T& push_back(const T& v) { return emplace_back(v); }
    T& push_back(T&& v) { return emplace_back(std::move(v)); }

    // Requires size() < capacity().
    template <class... Args>
    T& unchecked_emplace_back(Args&&... args) {
        T* slot = std::construct_at(data() + size_, std::forward<Args>(args)...);
        ++size_;
        return *slot;
    }

    void pop_back() noexcept { std::destroy_at(data() + --size_); }
    void clear() noexcept {
        std::destroy(begin(), end());
        size_ = 0;
    }

private:
    // Requires this vector empty. Relocation (see the top): the bytes of o's
    // elements come here and o forgets them.
    void take_elements(inplace_vector& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
        if constexpr (detail::relocates_by_copy<T>) {
            detail::relocate_bytes<T>(storage_, o.storage_, o.size_);
            size_ = std::exchange(o.size_, 0);
        } else {
            for (T& v : o) unchecked_emplace_back(std::move(v));
        }
    }

    size_type checked_index(size_type i) const {
        if (i >= size_)
            throw std::out_of_range("weft::inplace_vector::at(" + std::to_string(i) + "): size is " +
                                    std::to_string(size_));
        return i;
    }

    alignas(T) std::byte storage_[N == 0 ? 1 : N * sizeof(T)];
    size_type size_ = 0;
};

}  // namespace weft
