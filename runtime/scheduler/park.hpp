// The idle-worker state machine: how many workers are searching for work and how
// many are unparked, the list of parked workers, and the futex words they sleep on.
// The invariants are stated in park.cpp.
#pragma once

#include <weft/detail/spin_lock.hpp>
#include <weft/detail/worker_context.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace weft::detail {

class idle {
public:
    explicit idle(unsigned num_workers);

    // The packed word worker_context::idle_state_ points at.
    const std::atomic<std::uint64_t>& state() const noexcept { return state_; }

    // A worker out of local work asks to search (steal); false when enough
    // workers already search (at most half of them), and it should park instead.
    bool transition_to_searching() noexcept;
    // A searching worker found work. True when it was the last searcher: it must
    // then wake another worker (there may be more work where it found this).
    bool transition_from_searching() noexcept;
    // A worker with nothing to do registers as parked. True when it was the last
    // searcher: it must then re-check every queue before it sleeps (INV-1).
    bool transition_to_parked(unsigned worker, bool was_searching);
    // The word a parked worker's reactor watches (reactor::park): 1 while it is
    // parked, 0 once someone unparked it.
    const std::atomic<std::uint32_t>& parked_word(unsigned worker) const noexcept { return words_[worker].parked; }
    // A parked worker whose reactor made tasks runnable unparks itself. True when
    // it did (it now counts as unparked, not searching); false when a producer
    // unparked it first (and counted it as searching).
    bool cancel_park(unsigned worker);

    // Producer side: picks a parked worker, counts it as searching and unparked
    // and clears its parked word; the caller then wakes its reactor. False when
    // some worker already searches or none sleeps.
    bool worker_to_notify(unsigned& worker);
    // Shutdown: clears every parked word, and makes later parks return at once;
    // the caller then wakes every reactor.
    void unpark_all();

    unsigned parked_workers() const noexcept;

private:
    bool notify_should_wake_up() noexcept;
    // Under mutex_: clears the worker's parked word.
    void unpark(unsigned worker) noexcept;

    const unsigned num_workers_;
    // Low 32 bits: searching workers; high 32: unparked workers (worker_context.hpp).
    // Changed by seq_cst read-modify-writes only, by any worker or producer.
    alignas(64) std::atomic<std::uint64_t> state_;
    // Guards sleepers_ and the parked -> unparked hand-over: a few stores and a
    // push or pop on a vector reserved for every worker (no allocation), so a
    // spin_lock, not a std::mutex (two libc calls on every park).
    spin_lock mutex_;
    std::vector<unsigned> sleepers_;
    // Set by unpark_all() under mutex_: a worker that decided to park just before
    // shutdown must not go to sleep after the last wake-up was sent.
    bool closed_ = false;
    // One per worker, each on its own cache line. 1 while the worker is parked;
    // set to 0 by whoever unparks it, who then wakes its reactor (INV-WAKE).
    struct alignas(64) sleep_word {
        std::atomic<std::uint32_t> parked{0};
    };
    std::unique_ptr<sleep_word[]> words_;
};

}  // namespace weft::detail
