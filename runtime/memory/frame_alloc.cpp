// The per-thread frame pools behind detail/frame_alloc.hpp: creation on first use,
// release at thread exit, and the registry frame_stats() sums over.
#include <weft/detail/frame_alloc.hpp>

#include <mutex>

namespace weft::detail {

constinit const frame_pool k_no_pool{frame_pool::always_miss{}};

// const_cast: the fast paths form a non-const reference to whatever this points
// to, but reach a write only past a test k_no_pool always fails (an empty list
// for an allocation, a full one for a free). k_no_pool may sit in read-only
// memory: a write would fault, not corrupt.
thread_local constinit frame_pool* tls_frame_pool __attribute__((tls_model("initial-exec"))) =
    const_cast<frame_pool*>(&k_no_pool);

thread_local constinit last_frame tls_last_frame __attribute__((tls_model("initial-exec")));

namespace {

struct registry {
    std::mutex mutex;
    frame_pool* live = nullptr;       // pools of threads still running
    std::uint64_t retired_from_system = 0;  // counts of pools whose thread exited
    std::uint64_t retired_to_system = 0;
};

registry& the_registry() {
    static registry* r = new registry;  // never destroyed: threads may exit after main
    return *r;
}

void release_pool(frame_pool* pool) {
    std::uint64_t released = 0;
    for (std::size_t c = 0; c < frame_pool::k_classes; ++c) {
        while (frame_pool::free_block* b = pool->classes_[c].head) {
            pool->classes_[c].head = b->next;
            ::operator delete(b);
            ++released;
        }
    }
    registry& r = the_registry();
    std::lock_guard lock(r.mutex);
    for (frame_pool** p = &r.live; *p != nullptr; p = &(*p)->next_registered_) {
        if (*p == pool) {
            *p = pool->next_registered_;
            break;
        }
    }
    r.retired_from_system += pool->from_system_.load(std::memory_order_relaxed);
    r.retired_to_system += pool->to_system_.load(std::memory_order_relaxed) + released;
    delete pool;
}

// Set once this thread's pool_owner has run: frames freed by thread_local
// destructors that run later go through the shared fallback pool below.
thread_local constinit bool tls_pool_retired = false;

// Its destructor runs at thread exit and hands the pool's blocks back.
struct pool_owner {
    frame_pool* pool = nullptr;
    ~pool_owner() {
        tls_pool_retired = true;
        if (pool == nullptr) return;
        tls_frame_pool = const_cast<frame_pool*>(&k_no_pool);
        release_pool(pool);
    }
};
thread_local pool_owner tls_pool_owner;

// Used only by exiting threads, so shared: every list looks full, so frees go
// straight to the system and allocations find no cached block. Several threads
// may count on it at once (frame_pool::count).
frame_pool* fallback_pool() {
    static frame_pool* pool = [] {
        auto* p = new frame_pool(frame_pool::always_miss{}, /*shared=*/true);
        registry& r = the_registry();
        std::lock_guard lock(r.mutex);
        p->next_registered_ = r.live;
        r.live = p;
        return p;
    }();
    return pool;
}

}  // namespace

frame_pool* make_frame_pool() {
    if (tls_pool_retired) return fallback_pool();
    auto* pool = new frame_pool;
    {
        registry& r = the_registry();
        std::lock_guard lock(r.mutex);
        pool->next_registered_ = r.live;
        r.live = pool;
    }
    tls_pool_owner.pool = pool;
    tls_frame_pool = pool;
    return pool;
}

#if WEFT_FRAME_ALLOCATOR_POOL
void* allocate_frame_slow(std::size_t n) {
    // The list of the frame's class was empty: a pool made just now is empty too,
    // and the fallback of an exiting thread always is.
    frame_pool& pool = this_thread_frame_pool();
    const std::size_t cls = (n - 1) / frame_pool::k_granule;
    // A whole size class, so that the block can serve any frame of its class later.
    void* p = ::operator new(cls < frame_pool::k_classes ? (cls + 1) * frame_pool::k_granule : n);
    pool.count(pool.from_system_);
    return p;
}

void free_frame_slow(void* p, std::size_t n) noexcept {
    frame_pool& pool = this_thread_frame_pool();
    const std::size_t cls = (n - 1) / frame_pool::k_granule;
    // Room only in a pool made just now, by this free (a thread's own pool came
    // here full; the fallback always looks full).
    if (cls < frame_pool::k_classes && frame_pool::try_cache(pool.classes_[cls], p)) return;
    pool.count(pool.to_system_);
    ::operator delete(p);
}
#endif

#if WEFT_FRAME_ALLOCATOR_SYSTEM
void free_system_frame(void* p, std::size_t n) noexcept {
    frame_pool& pool = this_thread_frame_pool();
    pool.count(pool.to_system_);
    ::operator delete(p, n);
}
#endif

frame_counts frame_stats() noexcept {
    registry& r = the_registry();
    std::lock_guard lock(r.mutex);
    // Unsigned arithmetic: one thread's pool may hand back or cache more blocks
    // than it took (frames freed on another thread than their own); the sum over
    // all pools is what counts.
    std::uint64_t live = r.retired_from_system - r.retired_to_system;
    for (frame_pool* p = r.live; p != nullptr; p = p->next_registered_) {
        // relaxed: a statistic; exact only when the owners are quiescent (see header).
        live += p->from_system_.load(std::memory_order_relaxed);
        live -= p->to_system_.load(std::memory_order_relaxed);
        if (p->shared_) continue;  // its lists are empty and only look full
        for (const frame_pool::size_class& c : p->classes_) live -= c.cached.load(std::memory_order_relaxed);
    }
    return frame_counts{static_cast<std::int64_t>(live)};
}

}  // namespace weft::detail
