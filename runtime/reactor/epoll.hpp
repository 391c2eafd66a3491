// The epoll backend: readiness instead of completions. A socket is registered once
// (edge-triggered, both directions) with the epoll instance of the worker that
// first waits on it, its home; that worker dispatches its events. A task on any
// worker may wait on it: it tries the system call, and on EAGAIN parks itself in
// the socket's fd_waiters until the home worker sees the socket become ready.
#pragma once

#include "reactor.hpp"

#include <weft/detail/readiness_waiter.hpp>
#include <weft/detail/spin_lock.hpp>

#include <sys/epoll.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace weft::detail {

// What an epoll instance shares with the sockets registered in it, which may
// outlive the worker (and the runtime): the epoll fd, and fd_waiters whose sockets
// were closed, freed by the home worker between two epoll_wait batches (a batch in
// progress may still point at them).
struct epoll_core {
    int epfd = -1;
    // The runtime of the home worker, set before any socket registers: a task of
    // another runtime must not park here (park_waiter), since only that runtime
    // would wake it, resuming it on the wrong workers or after its frame is gone.
    std::uint64_t runtime_id = 0;
    std::mutex garbage_mutex;
    std::vector<fd_waiters*> garbage;  // under garbage_mutex; add with discard()
    // !garbage.empty(), written under garbage_mutex, read without it by
    // free_garbage() so that a poll with nothing to free takes no lock.
    std::atomic<bool> has_garbage{false};
    // Set once, under garbage_mutex: the home reactor is gone, so no batch can
    // point at a closed socket's fd_waiters any more (free it at once), and no
    // worker dispatches this epoll's events (a socket that waits again, under a
    // later runtime, must move to that runtime's epoll: waiters_for).
    std::atomic<bool> orphaned{false};
    // Sockets registered here and not yet removed (closed, or moved to a later
    // runtime's epoll); the home worker polls while it is non-zero (a registered
    // socket is one some task reads or writes, so a readiness event may be due).
    // Counted at registration and removal, not per wait: a per-wait count cost
    // two atomic read-modify-writes per request. Once orphaned with none left,
    // nothing uses epfd any more and it closes (close_epoll), even while retired
    // registrations still hold the core.
    std::atomic<std::size_t> registered{0};
    std::atomic<bool> epfd_closed{false};

    ~epoll_core();
    // After the EPOLL_CTL_DEL of a registered socket.
    void unregistered() noexcept;
    // Closes epfd, once.
    void close_epoll() noexcept;
    // Under garbage_mutex: queues `w` for the home worker's next free_garbage().
    void discard(fd_waiters* w);
    void free_garbage() noexcept;
};

// Per registered socket. seq_ counts readiness events per direction: a task reads
// it before its system call and parks only if no event arrived since (under
// mutex_), so an edge that fired between the EAGAIN and the park is not lost.
struct fd_waiters {
    spin_lock mutex_;
    // Written by the home worker's dispatch() (under mutex_); read by any task
    // (seq_of, acquire) and by park_waiter() (under mutex_).
    std::atomic<std::uint32_t> seq_[2] = {0, 0};
    // Set once by dispatch() when the peer hung up or the socket failed (RDHUP,
    // HUP, ERR), before the seq_ bump that announces it; never cleared. Read by
    // the reader after its acquire load of seq_[0].
    std::atomic<bool> hung_up_{false};
    // The short-read memo (tcp_stream::read): k_drained | seq_[0] as read before a
    // recv that returned less than asked, i.e. that emptied the receive queue; 0
    // when there is none. Only the one reader of the socket touches it.
    static constexpr std::uint64_t k_drained = std::uint64_t{1} << 32;
    std::atomic<std::uint64_t> drained_at_{0};

    // Sets the memo after a recv that gave `n` of `asked` bytes, `seq` being
    // seq_[0] as read before it. relaxed: only the socket's one reader, or
    // dispatch() on its behalf while it is parked, touches drained_at_.
    void note_received(std::uint32_t seq, ssize_t n, std::size_t asked) noexcept {
        const bool drained = n > 0 && static_cast<std::size_t>(n) < asked;
        drained_at_.store(drained ? (k_drained | seq) : 0, std::memory_order_relaxed);
    }
    // The parked waiters per direction (read, write), in the order they parked:
    // readiness_waiter's next_ / prev_, the first one's prev_ the last. At most
    // one, unless every one is several_ (accepts on a listener). Under mutex_.
    readiness_waiter* waiter_[2] = {nullptr, nullptr};
    bool closed_ = false;
    int fd_;
    std::shared_ptr<epoll_core> core_;

    // The registration this one replaced when the socket moved from a runtime
    // that is gone to a live one (waiters_for). Another thread may still hold a
    // pointer to it from the socket's slot, so it lives as long as this one.
    fd_waiters* retired_ = nullptr;

    fd_waiters(int fd, std::shared_ptr<epoll_core> core) : fd_(fd), core_(std::move(core)) {}
    ~fd_waiters() { delete retired_; }
    fd_waiters(const fd_waiters&) = delete;
    fd_waiters& operator=(const fd_waiters&) = delete;
};

class epoll_reactor final : public reactor {
public:
    // `runtime_id`: the runtime whose worker polls it.
    epoll_reactor(const config& cfg, std::uint64_t runtime_id);
    ~epoll_reactor() override;

    // Registers `fd` with this reactor's epoll instance.
    fd_waiters* register_fd(int fd);
    // Frees `w` once no batch can point at it (after its fd left epoll).
    void discard(fd_waiters* w);

protected:
    void poll_backend(std::int64_t timeout_ns) override;
    void notify() noexcept override;
    bool backend_pending() const noexcept override {
        // relaxed: a hint for the busy loop; park() blocks in epoll_wait anyway.
        return core_->registered.load(std::memory_order_relaxed) != 0;
    }
    void shutdown_backend() override {}

private:
    void dispatch(fd_waiters& w, std::uint32_t events);

    std::shared_ptr<epoll_core> core_;
    int wake_fd_ = -1;
    std::vector<epoll_event> events_;
};

// The socket-side operations, from any worker (runtime/net uses them).
// The epoll instance the socket is registered with, registering it with the
// calling worker's when it is not yet, or when its home reactor is gone (the
// socket outlived the runtime it waited under).
fd_waiters& waiters_for(std::atomic<void*>& slot, int fd, epoll_reactor& here);
// Parks `w` unless an event arrived since `seq` was read; false when it did not
// park: retry the call, or, for a waiter with recv_buf_, its recv was made here
// (result_ and received_; it parks if that recv said EAGAIN). Also false with
// result_ -EBADF when the socket was closed, or -ECANCELED when a canceller came
// first (cancel_readiness_waiter).
bool park_waiter(readiness_waiter& w, std::uint32_t seq);
// Takes a parked waiter out (destruction); true if it was parked.
bool unpark_waiter(readiness_waiter& w);
// The same for a canceller (on_cancel, under the scope's lock); when the waiter
// is not parked, a park_waiter() still to come gives -ECANCELED instead of
// parking, so a cancel that lands between the scope's add() and the park is
// not lost.
bool cancel_readiness_waiter(readiness_waiter& w);
// The socket is closing: wakes its waiters with -EBADF and removes it from epoll.
// Its fd_waiters stays, marked closed (a later wait gives -EBADF), until
// release_waiters().
void close_waiters(std::atomic<void*>& slot) noexcept;
// The socket object is going away (destroyed, or assigned another socket), after
// close_waiters(): hands its fd_waiters to its home for freeing (at once when
// that runtime is gone). No task can be inside a call on the socket now, nor
// registered in a scope with a wait on it.
void release_waiters(std::atomic<void*>& slot) noexcept;

}  // namespace weft::detail
