// The epoll backend. epoll_event.data.ptr is the socket's fd_waiters, or null for
// the eventfd that wakes a parked worker.
#include "epoll.hpp"

#include "../scheduler/scheduler.hpp"

#include <weft/detail/always_inline.hpp>
#include <weft/errors.hpp>

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

namespace weft::detail {

epoll_core::~epoll_core() {
    free_garbage();
    close_epoll();
}

void epoll_core::close_epoll() noexcept {
    // acq_rel: one caller wins and closes; every use of epfd by the others came
    // before their registered/orphaned operations, which the winner read.
    if (epfd >= 0 && !epfd_closed.exchange(true, std::memory_order_acq_rel)) ::close(epfd);
}

void epoll_core::unregistered() noexcept {
    // seq_cst, with ~epoll_reactor's seq_cst store of orphaned and load of
    // registered (a store-then-load pair on each side): at least one of the two
    // sees both the count at zero and the reactor gone, so the last removal from
    // a dead runtime's epoll closes it; the close_epoll() exchange makes two
    // callers that both see it close once.
    if (registered.fetch_sub(1, std::memory_order_seq_cst) == 1 && orphaned.load(std::memory_order_seq_cst))
        close_epoll();
}

void epoll_core::discard(fd_waiters* w) {
    garbage.push_back(w);
    // relaxed: the lock both sides take orders the list itself; the flag only
    // lets free_garbage() skip the lock.
    has_garbage.store(true, std::memory_order_relaxed);
}

void epoll_core::free_garbage() noexcept {
    // relaxed: a stale false only leaves the list for the next poll. Where the
    // list must be empty afterwards (the destructors) this thread took
    // garbage_mutex after the last discard(), or was synchronized with it by the
    // shared_ptr's release, so it reads true.
    if (!has_garbage.load(std::memory_order_relaxed)) return;
    std::vector<fd_waiters*> dead;
    {
        std::lock_guard lock(garbage_mutex);
        dead.swap(garbage);
        has_garbage.store(false, std::memory_order_relaxed);
    }
    for (fd_waiters* w : dead) delete w;
}

epoll_reactor::epoll_reactor(const config& cfg, std::uint64_t runtime_id)
    : reactor(io_backend_kind::epoll, cfg), core_(std::make_shared<epoll_core>()), events_(cfg.io_event_batch) {
    core_->runtime_id = runtime_id;
    core_->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (core_->epfd < 0) throw io_error(errno, "epoll_create1");
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw io_error(errno, "eventfd (epoll reactor)");
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: stays ready until drained
    ev.data.ptr = nullptr;
    if (epoll_ctl(core_->epfd, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
        const int err = errno;
        ::close(wake_fd_);
        throw io_error(err, "epoll_ctl(ADD eventfd)");
    }
}

epoll_reactor::~epoll_reactor() {
    {
        std::lock_guard lock(core_->garbage_mutex);
        // release (seq_cst for unregistered()): pairs with waiters_for()'s
        // acquire load (and close_waiters(), which reads it under the lock).
        core_->orphaned.store(true, std::memory_order_seq_cst);
    }
    // seq_cst: see unregistered(). No socket left in our epoll: close it now,
    // not when the last retired registration lets go of the core.
    if (core_->registered.load(std::memory_order_seq_cst) == 0) core_->close_epoll();
    core_->free_garbage();
    ::close(wake_fd_);
}

fd_waiters* epoll_reactor::register_fd(int fd) {
    auto* w = new fd_waiters(fd, core_);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = w;
    if (epoll_ctl(core_->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        const int err = errno;
        delete w;
        throw io_error(err, "epoll_ctl(ADD fd " + std::to_string(fd) + ")");
    }
    // relaxed: unregistered() needs only the count's modification order; this
    // comes before the registration is published (waiters_for's CAS), so before
    // its removal.
    core_->registered.fetch_add(1, std::memory_order_relaxed);
    return w;
}

void epoll_reactor::discard(fd_waiters* w) {
    std::lock_guard lock(core_->garbage_mutex);
    core_->discard(w);
}

void epoll_reactor::poll_backend(std::int64_t timeout_ns) {
    // No batch is in progress: whatever was closed since the last one can go.
    core_->free_garbage();
    int timeout_ms = -1;
    if (timeout_ns >= 0) {
        const std::int64_t ms = (timeout_ns + 999'999) / 1'000'000;  // never early
        timeout_ms = ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms);
    }
    for (;;) {
        const int n = epoll_wait(core_->epfd, events_.data(), static_cast<int>(events_.size()), timeout_ms);
        if (n < 0) {
            if (errno == EINTR) return;
            throw io_error(errno, "epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            auto* w = static_cast<fd_waiters*>(events_[static_cast<std::size_t>(i)].data.ptr);
            if (w == nullptr) {
                std::uint64_t drained;
                [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &drained, sizeof drained);
            } else {
                dispatch(*w, events_[static_cast<std::size_t>(i)].events);
            }
        }
        if (static_cast<std::size_t>(n) < events_.size()) return;
        timeout_ms = 0;  // a full batch: there may be more ready now
    }
}

namespace {

// The recv a reader asked for (readiness_waiter::recv_buf_), made under w.mutex_
// with seq_[0] at `seq`: by the home worker right after counting an edge, or by
// park_waiter() when an edge came since the reader's `seq`. False on EAGAIN: the
// reader (stays) parked. (epoll_wait drops an edge whose socket is no longer
// readable when it collects it, but a reader on another worker may take the
// bytes between that check and this recv, and then park.) The socket is open:
// close_waiters() sets closed_ under the same lock before the descriptor closes.
bool receive_for(fd_waiters& w, readiness_waiter& r, std::uint32_t seq) noexcept {
    ssize_t n;
    do {
        n = ::recv(w.fd_, r.recv_buf_, r.recv_len_, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        r.result_ = -errno;
        return true;
    }
    r.result_ = 0;
    r.received_ = n;
    // The short-read memo, on the reader's behalf (it is suspended; resuming it
    // orders this write before its next read).
    w.note_received(seq, n, r.recv_len_);
    return true;
}

// A direction's list of parked waiters (fd_waiters::waiter_), under the fd's
// mutex. Appended at the tail, so that a wake resumes them in the order they
// parked.
void link_waiter(readiness_waiter*& head, readiness_waiter& r) noexcept {
    r.next_ = nullptr;
    if (head == nullptr) {
        r.prev_ = &r;
        head = &r;
        return;
    }
    readiness_waiter* tail = head->prev_;
    tail->next_ = &r;
    r.prev_ = tail;
    head->prev_ = &r;
}

void unlink_waiter(readiness_waiter*& head, readiness_waiter& r) noexcept {
    if (&r == head) {
        head = r.next_;
        if (head != nullptr) head->prev_ = r.prev_;  // the tail
    } else {
        r.prev_->next_ = r.next_;
        if (r.next_ != nullptr)
            r.next_->prev_ = r.prev_;
        else
            head->prev_ = r.prev_;  // r was the tail
    }
    r.next_ = nullptr;
    r.prev_ = nullptr;
}

// Waiters taken out of their lists, to resume once the fd's lock is let go.
struct wake_chain {
    readiness_waiter* first = nullptr;
    readiness_waiter** end = &first;

    void add(readiness_waiter& r) noexcept {
        *end = &r;
        end = &r.next_;
    }
};

// The waiters after the first of a direction's list, which dispatch() wakes
// with it: accepts on a listener (several_), each to retry its call.
WEFT_NOINLINE void unpark_others(readiness_waiter* r) noexcept {
    for (; r != nullptr; r = r->next_) {
        r->result_ = 0;
        r->parked_.store(false, std::memory_order_release);  // see readiness_waiter
    }
}

// An edge in direction d: counts it and unparks what it wakes (the returned
// list, linked by next_), under w.mutex_.
WEFT_ALWAYS_INLINE readiness_waiter* wake_direction(fd_waiters& w, int d) noexcept {
    // A load and a store, not a read-modify-write: every writer holds mutex_.
    // release: pairs with seq_of()'s acquire load; a reader that sees this
    // count also sees hung_up_ (so the short-read memo never skips the recv
    // that would report the end of stream). park_waiter() compares under
    // mutex_, which orders it on its own.
    const std::uint32_t seq = w.seq_[d].load(std::memory_order_relaxed) + 1;
    w.seq_[d].store(seq, std::memory_order_release);
    readiness_waiter* r = w.waiter_[d];
    if (r == nullptr) return nullptr;
    if (r->recv_buf_ == nullptr)
        r->result_ = 0;  // ready: the task retries its call
    else if (!receive_for(w, *r, seq))
        return nullptr;  // EAGAIN: it stays parked (a reader with its recv waits alone)
    // Every waiter goes: several are accepts on a listener, which each retry;
    // those that find no connection park again, with this edge counted.
    w.waiter_[d] = nullptr;
    readiness_waiter* others = r->next_;
    r->parked_.store(false, std::memory_order_release);  // see readiness_waiter
    if (others != nullptr) [[unlikely]]
        unpark_others(others);
    return r;
}

}  // namespace

void epoll_reactor::dispatch(fd_waiters& w, std::uint32_t events) {
    readiness_waiter* readers = nullptr;
    readiness_waiter* writers = nullptr;
    {
        std::lock_guard lock(w.mutex_);
        if (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP))
            // relaxed: published by the release bump of seq_[0] below.
            w.hung_up_.store(true, std::memory_order_relaxed);
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) readers = wake_direction(w, 0);
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) writers = wake_direction(w, 1);
    }
    // Each one's next_ is read before it resumes: from then on its task may run
    // and park again. (The runtime is live and we are its worker: no frame goes
    // while it is suspended.)
    for (readiness_waiter* r : {readers, writers}) {
        while (r != nullptr) {
            readiness_waiter* next = r->next_;
            resume(r->waiter_);
            r = next;
        }
    }
}

void epoll_reactor::notify() noexcept {
    [[maybe_unused]] const int r = ::eventfd_write(wake_fd_, 1);
}

namespace {

// acquire: pairs with ~epoll_reactor's release store. A socket whose home epoll
// is orphaned outlived the runtime it waited under: no worker polls that epoll
// any more, so it must register with ours instead. This covers runtimes that
// use a socket one after another. Two runtimes alive at once that both wait on
// one socket are not supported: its events go to the first one's epoll only,
// so park_waiter() refuses a task of the second one.
bool usable(const fd_waiters* w) noexcept {
    if (w == nullptr) return false;
    if (w->core_ == nullptr) return true;  // closed: park_waiter() gives -EBADF
    return !w->core_->orphaned.load(std::memory_order_acquire);
}

// waiters_for()'s slow path: the socket has no usable registration. Out of line,
// so that the common path needs no saved registers.
[[gnu::noinline]] fd_waiters& register_waiters(std::atomic<void*>& slot, void* existing, int fd,
                                                 epoll_reactor& here) {
    for (;;) {
        auto* current = static_cast<fd_waiters*>(existing);
        if (usable(current)) return *current;
        fd_waiters* mine = here.register_fd(fd);
        mine->retired_ = current;
        // acq_rel: release publishes `mine`; acquire sees the winner's when we lose.
        if (slot.compare_exchange_strong(existing, mine, std::memory_order_acq_rel)) {
            if (current != nullptr) {
                // Out of the dead runtime's epoll (which closes once no socket
                // is left in it; `current`, kept in mine->retired_, keeps its core).
                epoll_ctl(current->core_->epfd, EPOLL_CTL_DEL, fd, nullptr);
                current->core_->unregistered();
            }
            return *mine;
        }
        // Another worker registered it first: leave our epoll; our batches may
        // still point at `mine` until the next poll, so free it through the
        // garbage list. `existing` now holds the winner's; check it as above.
        mine->retired_ = nullptr;
        epoll_ctl(mine->core_->epfd, EPOLL_CTL_DEL, fd, nullptr);
        mine->core_->unregistered();
        here.discard(mine);
    }
}

}  // namespace

fd_waiters& waiters_for(std::atomic<void*>& slot, int fd, epoll_reactor& here) {
    // acquire: pairs with the release of register_waiters()' CAS; we see the
    // fd_waiters fully built.
    void* existing = slot.load(std::memory_order_acquire);
    if (usable(static_cast<fd_waiters*>(existing))) [[likely]]
        return *static_cast<fd_waiters*>(existing);
    return register_waiters(slot, existing, fd, here);
}

bool park_waiter(readiness_waiter& r, std::uint32_t seq) {
    fd_waiters& w = *r.fd_;
    std::lock_guard lock(w.mutex_);
    if (w.closed_) {
        r.result_ = -EBADF;
        return false;
    }
    if (r.cancel_before_park_) {  // before receive_for(): a cancelled read takes no bytes
        r.result_ = -ECANCELED;
        return false;
    }
    // relaxed: see dispatch(); both sides hold mutex_.
    const std::uint32_t now = w.seq_[r.direction_].load(std::memory_order_relaxed);
    // An edge came since `seq`: the call may succeed now. A waiter that brought
    // its recv gets it made here, and parks only if it says EAGAIN (with `now`
    // counted, no edge is lost); any other retries its call.
    if (now != seq && (r.recv_buf_ == nullptr || receive_for(w, r, now))) return false;
    // Registered under a runtime that is still running (waiters_for moves it
    // only once that runtime is gone): two runtimes alive at once wait on this
    // socket, or its last runtime is still shutting down.
    if (w.core_->runtime_id != r.runtime_id_)
        throw usage_error(
            "weft::net: a socket waited on under two runtimes alive at once (with epoll, its readiness goes to the "
            "first runtime that waited on it; wait under one runtime at a time)");
    if (const readiness_waiter* first = w.waiter_[r.direction_]; first != nullptr && !(first->several_ && r.several_))
        throw usage_error(std::string("weft::net: two tasks ") + (r.direction_ == 0 ? "reading from" : "writing to") +
                          " the same stream at once (one read and one write at a time)");
    link_waiter(w.waiter_[r.direction_], r);
    r.parked_.store(true, std::memory_order_relaxed);  // relaxed: read under mutex_, or by this task
    return true;
}

bool unpark_waiter(readiness_waiter& r) {
    fd_waiters& w = *r.fd_;
    std::lock_guard lock(w.mutex_);
    // relaxed: under mutex_; this is the waiter's own task.
    if (!r.parked_.load(std::memory_order_relaxed)) return false;
    unlink_waiter(w.waiter_[r.direction_], r);
    r.parked_.store(false, std::memory_order_relaxed);
    return true;
}

bool cancel_readiness_waiter(readiness_waiter& r) {
    fd_waiters& w = *r.fd_;
    std::lock_guard lock(w.mutex_);
    if (!r.parked_.load(std::memory_order_relaxed)) {  // relaxed: under mutex_
        // Resumed already (an event, a close), or not parked yet: then the
        // task is between its scope's add() and park_waiter(), which must not
        // park it now. (Once resumed it never parks again: harmless.)
        r.cancel_before_park_ = true;
        return false;
    }
    unlink_waiter(w.waiter_[r.direction_], r);
    r.parked_.store(false, std::memory_order_release);  // see readiness_waiter
    return true;
}

void close_waiters(std::atomic<void*>& slot) noexcept {
    // acquire: sees the fd_waiters a registering worker published. It stays in
    // the slot, closed, until release_waiters(): a task woken below, or one that
    // dispatch() woke before, may still be registered in its scope, and its
    // canceller locks w->mutex_ (cancel_readiness_waiter).
    auto* w = static_cast<fd_waiters*>(slot.load(std::memory_order_acquire));
    if (w == nullptr) return;
    // The waiters to resume, and their runtime's scheduler, which this thread
    // may use (held, when this thread is not one of its workers: one
    // hold_live() per waiter, each let go of by its resume).
    // Every parked waiter is of the one runtime whose worker polls `w`
    // (park_waiter), so one scheduler and one `held` serve them all.
    wake_chain woken;
    scheduler* sched = nullptr;
    bool held = false;
    {
        std::lock_guard lock(w->mutex_);
        w->closed_ = true;
        for (int d = 0; d < 2; ++d) {
            while (readiness_waiter* r = w->waiter_[d]) {
                unlink_waiter(w->waiter_[d], *r);
                r->result_ = -EBADF;
                // As a sync primitive's waker does (hold_for_wake): a closer
                // that is not a worker of the waiter's runtime holds that
                // runtime, so that the waiter's frame stays until it is
                // resumed. If the runtime is stopping or gone (a join_handle
                // kept the task), the waiter is only unparked: its frame may be
                // destroyed on another thread as soon as that store is seen,
                // and this thread touches it no more.
                bool h = false;
                if (scheduler* s = reach_runtime(r->runtime_id_, h)) {
                    sched = s;
                    held = h;  // the same for each (whether we are its worker)
                    woken.add(*r);
                }
                r->parked_.store(false, std::memory_order_release);  // see readiness_waiter
            }
        }
    }
    epoll_ctl(w->core_->epfd, EPOLL_CTL_DEL, w->fd_, nullptr);
    w->core_->unregistered();
    for (readiness_waiter* r = woken.first; r != nullptr;) {
        readiness_waiter* next = r->next_;  // before it resumes (see dispatch)
        // Out of its scope before it resumes, so that no canceller looks for it
        // in `w` any more. remove() waits for a canceller inside on_cancel right
        // now, which finds it unparked.
        cancel_scope::remove(*r);
        sched->resume_reached(r->waiter_, held);
        r = next;
    }
    // A socket closed after its home runtime is gone lets go of that runtime's
    // epoll instance now, not when the object goes (the last reference closes
    // its fd): no batch can point at `w`, so release_waiters() frees it at once.
    std::shared_ptr<epoll_core>& core = w->core_;
    std::unique_lock lock(core->garbage_mutex);
    if (core->orphaned.load(std::memory_order_relaxed)) {  // relaxed: we hold garbage_mutex
        std::shared_ptr<epoll_core> last = std::move(core);
        lock.unlock();
    }
}

void release_waiters(std::atomic<void*>& slot) noexcept {
    // acquire: as in close_waiters() (which ran on this thread, unless the
    // socket was closed before it was handed over to it). No other thread uses
    // the socket now: it is being destroyed or reassigned.
    auto* w = static_cast<fd_waiters*>(slot.exchange(nullptr, std::memory_order_acquire));
    if (w == nullptr) return;
    if (w->core_ == nullptr) {  // closed after its home was gone (close_waiters)
        delete w;
        return;
    }
    std::shared_ptr<epoll_core> core = w->core_;  // keeps the mutex alive past `delete w`
    std::unique_lock lock(core->garbage_mutex);
    if (!core->orphaned.load(std::memory_order_relaxed)) {  // relaxed: we hold garbage_mutex
        core->discard(w);
        return;
    }
    lock.unlock();
    delete w;
}

}  // namespace weft::detail
