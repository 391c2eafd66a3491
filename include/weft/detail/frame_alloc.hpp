// Where coroutine frames come from: a per-thread pool of size-classed free lists
// (default), mimalloc, or the system allocator, chosen by the `frame_allocator`
// meson option. Also the frame counting hook tests use to prove no frame leaks.
#pragma once

#include <weft/detail/always_inline.hpp>
#include <weft/detail/build_config.hpp>
#include <weft/detail/export.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#if WEFT_FRAME_ALLOCATOR_MIMALLOC
#include <mimalloc.h>
#endif

namespace weft::detail {

// Frames alive now, over every thread that has ever allocated or freed one: the
// blocks taken from the system allocator, less those handed back to it, less those
// resting in the pools' free lists. Exact when no frame is being allocated or
// freed concurrently (e.g. after a runtime is gone).
struct frame_counts {
    std::int64_t live = 0;
};
WEFT_API frame_counts frame_stats() noexcept;

// One per thread, created on the thread's first frame allocation or free.
struct frame_pool {
    static constexpr std::size_t k_granule = 64;
    static constexpr std::size_t k_classes = 16;  // blocks of 64 .. 1024 bytes
    static constexpr std::uint32_t k_max_cached = 256;

    struct free_block {
        free_block* next;
    };
    // One size class: its free list and how many blocks it holds, side by side
    // so an allocation or a free touches one cache line of the pool, not two
    // arrays' lines. `cached` is written only by the owning thread, with a
    // relaxed load + store (no read-modify-write: one writer), and read by
    // frame_stats() from any thread; relaxed, because it is a statistic there.
    struct size_class {
        free_block* head = nullptr;
        std::atomic<std::uint32_t> cached{0};

        constexpr size_class() = default;
        constexpr explicit size_class(std::uint32_t n) : cached(n) {}
    };

    // Blocks this thread took from the system allocator and handed back to it:
    // written only on the slow paths (the fast paths count nothing but `cached`),
    // read by frame_stats() from any thread. Relaxed load + store by the owner;
    // the shared fallback pool counts with read-modify-writes (count()).
    std::atomic<std::uint64_t> from_system_{0};
    std::atomic<std::uint64_t> to_system_{0};
    size_class classes_[k_classes];
    frame_pool* next_registered_ = nullptr;
    // The one pool several threads count on: the fallback of exiting threads
    // (frame_alloc.cpp). Its counters take read-modify-writes.
    bool shared_ = false;

private:
    // Declared before the constructor that delegates to it: in the other order
    // clang 19 rejects k_no_pool's constinit ("undefined constructor cannot be
    // used in a constant expression").
    template <std::size_t... I>
    constexpr frame_pool(bool shared, std::index_sequence<I...>)
        : classes_{((void)I, size_class(k_max_cached))...}, shared_(shared) {}

public:
    constexpr frame_pool() = default;
    // A pool whose every list is empty and looks full: allocations and frees
    // both miss it and take the slow path (k_no_pool, the fallback pool).
    struct always_miss {};
    // (Its `cached` never changes, so frame_stats() leaves a shared pool's out.)
    constexpr explicit frame_pool(always_miss, bool shared = false)
        : frame_pool(shared, std::make_index_sequence<k_classes>{}) {}

    // The fast path of an allocation: the head of the class's list, if any
    // (k_no_pool's lists are all empty).
    WEFT_ALWAYS_INLINE static free_block* try_take(size_class& c) noexcept {
        free_block* b = c.head;
        if (b == nullptr) [[unlikely]] return nullptr;
        c.head = b->next;
        c.cached.store(c.cached.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
        return b;
    }

    // The fast path of a free: the block joins its class's list unless the list
    // is full (k_no_pool and the shared fallback always look full).
    WEFT_ALWAYS_INLINE static bool try_cache(size_class& c, void* p) noexcept {
        const std::uint32_t n = c.cached.load(std::memory_order_relaxed);
        if (n >= k_max_cached) [[unlikely]] return false;
        auto* b = static_cast<free_block*>(p);
        b->next = c.head;
        c.head = b;
        c.cached.store(n + 1, std::memory_order_relaxed);
        return true;
    }

    // For any pool this_thread_frame_pool() returns, the shared one included.
    void count(std::atomic<std::uint64_t>& c) noexcept {
        if (shared_) [[unlikely]]
            c.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
        else
            c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

// What tls_frame_pool points to on a thread that has no pool yet (or no longer
// has one): never written, and always missed, so the inlined fast paths need no
// null test; the slow paths below recognise it and make the thread's pool.
WEFT_API extern constinit const frame_pool k_no_pool;

// initial-exec: one %fs-relative load instead of a __tls_get_addr call. Safe
// because libweft is linked at program start, not dlopen'ed into static TLS.
// Never null. (The pool is written only through the non-const pointer the slow
// paths get back from make_frame_pool(); k_no_pool is only ever read.)
WEFT_API extern thread_local constinit frame_pool* tls_frame_pool
    __attribute__((tls_model("initial-exec")));

// This thread's pool, made (and registered) on first use. After the thread's
// pool was released at exit, a shared pool whose lists always miss.
WEFT_API frame_pool* make_frame_pool();

WEFT_ALWAYS_INLINE frame_pool& this_thread_frame_pool() {
    frame_pool* p = tls_frame_pool;
    if (p == &k_no_pool) [[unlikely]] p = make_frame_pool();
    return *p;
}

// What a promise keeps to free its frame later without the frame's destroy
// entry (free_frame_by_token): with the pool, the frame's size class plus one,
// so the free needs no division and no range check; otherwise its size. 0: none
// (a frame above the pool's largest class, or above 64 KiB).
using frame_token = std::uint16_t;

WEFT_ALWAYS_INLINE frame_token token_for(std::size_t n) noexcept {
#if WEFT_FRAME_ALLOCATOR_POOL
    const std::size_t cls = (n - 1) / frame_pool::k_granule;
    return cls < frame_pool::k_classes ? static_cast<frame_token>(cls + 1) : 0;
#else
    return n <= UINT16_MAX ? static_cast<frame_token>(n) : 0;
#endif
}

// The frame allocate_frame() handed out last on this thread, for the promise
// constructor of task<T> that runs right after it (task.hpp: promise_base::
// note_frame). The address makes the record trustworthy: a promise whose frame
// the compiler allocated elsewhere (clang may elide an allocation) or whose
// parameter copies allocated frames of their own finds another address here and
// takes no token. Written and read only by the thread that owns it.
struct last_frame {
    void* address = nullptr;
    frame_token token = 0;
};
// initial-exec: see tls_frame_pool.
WEFT_API extern thread_local constinit last_frame tls_last_frame __attribute__((tls_model("initial-exec")));

WEFT_ALWAYS_INLINE void* note_allocation(void* p, frame_token token) noexcept {
    last_frame& l = tls_last_frame;
    l.address = p;
    l.token = token;
    return p;
}

#if WEFT_FRAME_ALLOCATOR_SYSTEM
// Counts the free and hands the frame back with a sized delete, which ASAN checks
// against the allocation's size. Out of line: GCC 12's -Wmismatched-new-delete
// takes an inlined sized delete behind a promise's operator delete for a
// mismatch with the ::operator new behind its operator new.
WEFT_API void free_system_frame(void* p, std::size_t n) noexcept;
#endif

#if WEFT_FRAME_ALLOCATOR_POOL
// The out-of-line halves of allocate_frame and free_frame: an empty list, a full
// list, a frame above 1 KiB, or a thread without its pool yet.
WEFT_API void* allocate_frame_slow(std::size_t n);
WEFT_API void free_frame_slow(void* p, std::size_t n) noexcept;
#endif

WEFT_ALWAYS_INLINE void* allocate_frame(std::size_t n) {
#if WEFT_FRAME_ALLOCATOR_POOL
    frame_pool& pool = *tls_frame_pool;  // k_no_pool has no block: it never gets past the head test
    const std::size_t cls = (n - 1) / frame_pool::k_granule;
    if (cls < frame_pool::k_classes) [[likely]] {
        if (frame_pool::free_block* b = frame_pool::try_take(pool.classes_[cls])) [[likely]]
            return note_allocation(b, static_cast<frame_token>(cls + 1));
    }
    return note_allocation(allocate_frame_slow(n), token_for(n));
#elif WEFT_FRAME_ALLOCATOR_MIMALLOC
    frame_pool& pool = this_thread_frame_pool();
    pool.count(pool.from_system_);
    void* p = mi_malloc(n);
    if (p == nullptr) throw std::bad_alloc();
    return note_allocation(p, token_for(n));
#else
    frame_pool& pool = this_thread_frame_pool();
    pool.count(pool.from_system_);
    return note_allocation(::operator new(n), token_for(n));
#endif
}

WEFT_ALWAYS_INLINE void free_frame(void* p, std::size_t n) noexcept {
#if WEFT_FRAME_ALLOCATOR_POOL
    // A frame may be freed on another thread than the one that allocated it; it
    // then joins this thread's list. The cap bounds what a thread that mostly
    // frees (a join point) can hoard.
    frame_pool& pool = *tls_frame_pool;  // k_no_pool looks full: it never gets past the cap test
    const std::size_t cls = (n - 1) / frame_pool::k_granule;
    if (cls < frame_pool::k_classes) [[likely]] {
        if (pool.try_cache(pool.classes_[cls], p)) [[likely]] return;
    }
    free_frame_slow(p, n);
#elif WEFT_FRAME_ALLOCATOR_MIMALLOC
    (void)n;
    frame_pool& pool = this_thread_frame_pool();
    pool.count(pool.to_system_);
    mi_free(p);
#else
    free_system_frame(p, n);
#endif
}

// Frees a frame of the given token (not 0) that allocate_frame() made: the same
// as free_frame() with its size.
WEFT_ALWAYS_INLINE void free_frame_by_token(void* p, frame_token token) noexcept {
#if WEFT_FRAME_ALLOCATOR_POOL
    frame_pool& pool = *tls_frame_pool;
    if (pool.try_cache(pool.classes_[token - 1], p)) [[likely]] return;
    free_frame_slow(p, std::size_t{token} * frame_pool::k_granule);  // a size of that class
#else
    free_frame(p, token);
#endif
}

}  // namespace weft::detail
