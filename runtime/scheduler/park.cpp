// Parking and waking workers (model: Tokio's multi_thread/idle.rs).
//
// INV-1 (no lost wake-up): while some queue that only another worker can drain
//   holds an item (the injector, or a parked worker's... none: see INV-2), some
//   worker is unparked. Proof sketch: a producer pushes, then reads `state_` with
//   a seq_cst RMW (notify_should_wake_up). A worker parks by a seq_cst RMW on
//   `state_` (transition_to_parked); if that made it the last searcher, it re-reads
//   every queue with seq_cst loads before sleeping. In the total order of these
//   seq_cst operations, either the producer's read comes after the worker's
//   update, sees no searcher, and wakes a parked worker; or the worker's re-check
//   comes after the push, sees the item, and wakes one itself. If other searchers
//   remain, the last of them to park runs the same re-check.
// INV-2: a worker parks only with an empty deque and an empty LIFO slot, so work
//   pushed locally is run by its own worker at the latest; waking a sibling for it
//   (notify_local_work) is about parallelism, not liveness.
// INV-3: at most half the workers search at once (transition_to_searching), so an
//   idle runtime with many workers does not burn every core stealing from nobody.
// INV-4 (parallelism, bounded): an item in the deque of a worker that is busy
//   without awaiting waits at most about a millisecond for an idle sibling. A
//   local push checks for sleepers with a relaxed load and no fence (the fork-join
//   fast path cannot afford one: notify_local_work), so a sibling going to sleep
//   at that moment may miss the item and the pusher miss the sleeper. The last
//   searcher to park therefore sleeps at most k_recheck_after_ns the first time
//   and looks at every queue again (by then any store has long been visible)
//   before it sleeps for good. An idle runtime pays one extra wake per park of its
//   last searcher. (A heavy membarrier fence in park, pairing with the push,
//   would make it exact, but cost 20 us per park on this VM while a sibling
//   runs.)
#include "park.hpp"

namespace weft::detail {

idle::idle(unsigned num_workers)
    : num_workers_(num_workers),
      state_(std::uint64_t{num_workers} * k_unparked_one),
      words_(new sleep_word[num_workers]) {
    sleepers_.reserve(num_workers);
}

bool idle::transition_to_searching() noexcept {
    // seq_cst load: only a heuristic for INV-3; the RMW below is what counts.
    const std::uint64_t s = state_.load(std::memory_order_seq_cst);
    if (2 * searching_of(s) >= num_workers_) return false;
    state_.fetch_add(k_searching_one, std::memory_order_seq_cst);
    return true;
}

bool idle::transition_from_searching() noexcept {
    // seq_cst: ordered with producers' notify_should_wake_up() (INV-1): a producer
    // that sees our decrement and no other searcher wakes someone.
    return searching_of(state_.fetch_sub(k_searching_one, std::memory_order_seq_cst)) == 1;
}

bool idle::transition_to_parked(unsigned worker, bool was_searching) {
    std::lock_guard lock(mutex_);
    if (!closed_) {
        // relaxed: unparkers find this worker only through sleepers_, under
        // mutex_, so their later release store of 0 is ordered after this one.
        words_[worker].parked.store(1, std::memory_order_relaxed);
        sleepers_.push_back(worker);
    }
    const std::uint64_t dec = k_unparked_one + (was_searching ? k_searching_one : 0);
    // seq_cst: the worker's half of INV-1 (the re-check follows in the caller).
    const std::uint64_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
    return was_searching && searching_of(prev) == 1;
}

bool idle::cancel_park(unsigned worker) {
    std::lock_guard lock(mutex_);
    std::atomic<std::uint32_t>& word = words_[worker].parked;
    // relaxed: under mutex_, which every unparker holds when it clears the word.
    if (word.load(std::memory_order_relaxed) == 0) return false;
    word.store(0, std::memory_order_relaxed);
    for (std::size_t i = 0; i < sleepers_.size(); ++i) {
        if (sleepers_[i] == worker) {
            sleepers_[i] = sleepers_.back();
            sleepers_.pop_back();
            break;
        }
    }
    // seq_cst: like every change of state_ (INV-1); one more unparked worker,
    // not searching: it runs the work its reactor produced.
    state_.fetch_add(k_unparked_one, std::memory_order_seq_cst);
    return true;
}

bool idle::notify_should_wake_up() noexcept {
    // seq_cst RMW (not a load): the producer's half of INV-1, ordered after its
    // push and against workers' transition_to_parked().
    const std::uint64_t s = state_.fetch_add(0, std::memory_order_seq_cst);
    return searching_of(s) == 0 && unparked_of(s) < num_workers_;
}

bool idle::worker_to_notify(unsigned& worker) {
    if (!notify_should_wake_up()) return false;
    std::lock_guard lock(mutex_);
    // Re-check under the lock: another producer may have woken someone already.
    if (!notify_should_wake_up() || sleepers_.empty()) return false;
    // The woken worker starts out searching (it will steal), which also stops
    // other producers from waking a second one for the same work.
    state_.fetch_add(k_searching_one + k_unparked_one, std::memory_order_seq_cst);
    worker = sleepers_.back();
    sleepers_.pop_back();
    // Under mutex_, so a worker's cancel_park() sees it unparked once it left
    // sleepers_ and does not count itself a second time.
    unpark(worker);
    return true;
}

void idle::unpark(unsigned worker) noexcept {
    // seq_cst: the waker's publication in INV-WAKE (reactor.cpp), read by the
    // parked worker's seq_cst re-check before it blocks; also releases what the
    // waker did before to the woken worker.
    words_[worker].parked.store(0, std::memory_order_seq_cst);
}

void idle::unpark_all() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (unsigned w : sleepers_) unpark(w);
    sleepers_.clear();
}

unsigned idle::parked_workers() const noexcept {
    // seq_cst: used by tests and shutdown, never on a hot path.
    return num_workers_ - unparked_of(state_.load(std::memory_order_seq_cst));
}

}  // namespace weft::detail
