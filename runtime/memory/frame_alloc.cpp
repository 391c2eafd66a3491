// The per-thread frame pools behind detail/frame_alloc.hpp: creation on first use,
// release at thread exit, and the registry frame_stats() sums over.
#include <weft/detail/frame_alloc.hpp>

#include <mutex>

namespace weft::detail {

thread_local constinit frame_pool* tls_frame_pool __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {

struct registry {
    std::mutex mutex;
    frame_pool* live = nullptr;       // pools of threads still running
    std::uint64_t retired_allocated = 0;  // counts of pools whose thread exited
    std::uint64_t retired_freed = 0;
};

registry& the_registry() {
    static registry* r = new registry;  // never destroyed: threads may exit after main
    return *r;
}

void release_pool(frame_pool* pool) {
    for (std::size_t c = 0; c < frame_pool::k_classes; ++c) {
        while (frame_pool::free_block* b = pool->classes_[c].head) {
            pool->classes_[c].head = b->next;
            ::operator delete(b);
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
    r.retired_allocated += pool->allocated_.load(std::memory_order_relaxed);
    r.retired_freed += pool->freed_.load(std::memory_order_relaxed);
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
        tls_frame_pool = nullptr;
        release_pool(pool);
    }
};
thread_local pool_owner tls_pool_owner;

// Used only by exiting threads: every list looks full, so frees go straight to
// the system and allocations find no cached block.
frame_pool* fallback_pool() {
    static frame_pool* pool = [] {
        auto* p = new frame_pool;
        for (auto& c : p->classes_) c.cached = frame_pool::k_max_cached;
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

frame_counts frame_stats() noexcept {
    registry& r = the_registry();
    std::lock_guard lock(r.mutex);
    frame_counts c{r.retired_allocated, r.retired_freed};
    for (frame_pool* p = r.live; p != nullptr; p = p->next_registered_) {
        // relaxed: a statistic; exact only when the owners are quiescent (see header).
        c.allocated += p->allocated_.load(std::memory_order_relaxed);
        c.freed += p->freed_.load(std::memory_order_relaxed);
    }
    return c;
}

}  // namespace weft::detail
