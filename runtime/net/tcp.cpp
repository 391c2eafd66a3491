// weft::net's TCP sockets over either backend. With io_uring each call is one ring
// operation (plus a poll and a retry if a non-blocking socket says EAGAIN); with
// epoll it is the system call itself, and on EAGAIN a readiness wait and a retry.
// Sockets are always non-blocking, so either backend can use any socket.
#include "../reactor/awaiters.hpp"
#include "address.hpp"

#include <weft/net.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace weft::net {

namespace {

using weft::detail::io_backend_kind;
using weft::detail::io_op;
using weft::detail::op_kind;
using weft::detail::ready_wait;
using weft::detail::ring_wait;

constexpr int k_read = 0;
constexpr int k_write = 1;

// An io_uring call in progress on a socket (see socket_handle::pending): keeps
// the descriptor open until the call ends, and closes it then if close() came
// meanwhile. The call must use fd() for its operations, never the handle's fd
// (close() sets that to -1 at once).
class pending_guard {
public:
    explicit pending_guard(detail::socket_handle& h) noexcept : word_(h.pending), fd_(h.fd) {
        // relaxed: close() runs on the thread of this call or one ordered with
        // it (the socket's contract), so it cannot be between reading fd_ and
        // this count; the descriptor's uses are published by the fetch_sub below.
        word_.fetch_add(1, std::memory_order_relaxed);
    }
    pending_guard(const pending_guard&) = delete;
    pending_guard& operator=(const pending_guard&) = delete;
    ~pending_guard() {
        // acq_rel: release, so that this call's uses of the descriptor happen
        // before whoever closes it (close(), or the last guard); acquire, for the
        // case where we are that last guard after close() shut the socket down.
        // One read-modify-write word makes exactly one of close() and the guards
        // see "closed and no calls left".
        if (word_.fetch_sub(1, std::memory_order_acq_rel) == (detail::socket_handle::k_closed | 1)) {
            word_.store(0, std::memory_order_relaxed);  // the handle may take a new socket
            ::close(fd_);
        }
    }

    int fd() const noexcept { return fd_; }
    // close() came while this call was in progress: its result is the shutdown's
    // doing, reported as EBADF as on epoll.
    bool closed() const noexcept {
        // acquire: pairs with close()'s acq_rel fetch_or.
        return (word_.load(std::memory_order_acquire) & detail::socket_handle::k_closed) != 0;
    }

private:
    std::atomic<std::uint32_t>& word_;
    int fd_;
};

bool is_uring(const char* what) { return weft::detail::current_reactor(what).kind() == io_backend_kind::io_uring; }

weft::detail::fd_waiters& waiters(detail::socket_handle& h, const char* what) {
    auto& r = static_cast<weft::detail::epoll_reactor&>(weft::detail::current_reactor(what));
    return weft::detail::waiters_for(h.poll_state, h.fd, r);
}

std::uint32_t seq_of(weft::detail::fd_waiters& w, int direction) {
    // acquire: a readiness event counted before this load happened before our
    // system call; one counted after it changes seq_ and park_waiter() retries.
    return w.seq_[direction].load(std::memory_order_acquire);
}

// One ring operation on a socket; retried after a poll when the kernel answers
// EAGAIN (a socket made non-blocking by someone else, on older kernels).
weft::task<int> ring_call(op_kind kind, int fd, void* buf, std::size_t len, int flags, short poll_events) {
    for (;;) {
        io_op op;
        op.kind_ = kind;
        op.fd_ = fd;
        op.buf_ = buf;
        op.len_ = static_cast<unsigned>(std::min<std::size_t>(len, 1u << 30));
        op.flags_ = flags;
        const int res = co_await ring_wait(op);
        if (res != -EAGAIN && res != -EINTR) co_return res;
        io_op poll;
        poll.kind_ = op_kind::poll;
        poll.fd_ = fd;
        poll.flags_ = poll_events;
        const int ready = co_await ring_wait(poll);
        if (ready < 0 && ready != -EINTR) co_return ready;
    }
}

void throw_if_closed(const detail::socket_handle& h, const char* call) {
    if (h.fd < 0) throw io_error(EBADF, std::string(call) + ": the socket is closed");
}

// getpeername or getsockname of `fd` into `a`; false (errno set) on failure.
bool query_address(int fd, bool peer, detail::sock_address& a) noexcept {
    a.length = sizeof a.storage;
    return (peer ? ::getpeername(fd, a.get(), &a.length) : ::getsockname(fd, a.get(), &a.length)) == 0;
}

// getsockname/getpeername of an open socket, as an endpoint.
endpoint address_of(const detail::socket_handle& h, bool peer, const char* call) {
    throw_if_closed(h, call);
    detail::sock_address a;
    if (!query_address(h.fd, peer, a)) {
        const int err = errno;
        const char* what = peer ? ": getpeername fd " : ": getsockname fd ";
        throw io_error(err, std::string(call) + what + std::to_string(h.fd));
    }
    return detail::to_endpoint(a);
}

int new_socket(int family, const std::string& where, const char* call) {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        const int err = errno;
        throw io_error(err, std::string(call) + " " + where);
    }
    return fd;
}

// An accepted socket's peer, for its error messages ("fd N" if it is already gone).
std::string peer_name(int fd) {
    detail::sock_address a;
    if (!query_address(fd, true, a)) return "fd " + std::to_string(fd);
    return detail::to_endpoint(a).to_string();
}

}  // namespace

namespace detail {

void throw_call_awaited_twice(const char* call) {
    throw usage_error(std::string("co_await on a weft::net::tcp_stream::") + call +
                      "() call that was already awaited: await each call once");
}

void socket_handle::close() noexcept {
    if (fd < 0) return;
    const int f = std::exchange(fd, -1);
    weft::detail::close_waiters(poll_state);
    // A ring operation may still be queued with this descriptor's number: keep
    // the number ours, wake the operations (shut down), and let the last call
    // close it. The shutdown comes before the closed bit: once the bit is set,
    // that last call may close the descriptor on another thread at any moment,
    // and a new socket may take its number. relaxed: a call that ends right
    // after this load only leaves a shutdown the close makes moot anyway.
    if (pending.load(std::memory_order_relaxed) != 0) ::shutdown(f, SHUT_RDWR);
    // acq_rel: acquire, so that the io_uring calls that have ended (their guards'
    // release fetch_sub) used the descriptor before we close it; release, for the
    // guard that closes it instead.
    const std::uint32_t calls = pending.fetch_or(k_closed, std::memory_order_acq_rel);
    if (calls == 0) {
        pending.store(0, std::memory_order_relaxed);  // no guard exists to see the bit
        ::close(f);
    }
}

void socket_handle::reset() noexcept {
    close();
    weft::detail::release_waiters(poll_state);
}

}  // namespace detail

}  // namespace weft::net

namespace weft::net {

std::string tcp_stream::describe() const { return peer_.empty() ? "fd " + std::to_string(handle_.fd) : peer_; }

task<tcp_stream> tcp_stream::connect(std::string host, std::uint16_t port) {
    // "" means every interface to bind; as a peer it names nothing (the kernel
    // would quietly take the local host).
    if (host.empty() || host == "[]")
        throw io_error(EINVAL, "connect \"" + host + "\" (port " + std::to_string(port) +
                                   "): an empty host names no peer; use \"127.0.0.1\" or \"::1\" for this machine");
    const std::string where = detail::show(host, port);
    detail::sock_address addr = detail::parse_address(host, port, "connect");
    // No pending_guard: no other task can reach `s` to close it.
    tcp_stream s(new_socket(addr.family(), where, "socket for connect"), where);
    int err = 0;
    if (is_uring("weft::net::tcp_stream::connect")) {
        io_op op;
        op.kind_ = op_kind::connect;
        op.fd_ = s.handle_.fd;
        op.addr_ = addr.get();
        op.addrlen_ = addr.length;
        const int res = co_await ring_wait(op);
        if (res == -EINPROGRESS || res == -EAGAIN || res == -EALREADY) {
            io_op poll;
            poll.kind_ = op_kind::poll;
            poll.fd_ = s.handle_.fd;
            poll.flags_ = POLLOUT;
            co_await ring_wait(poll);
            socklen_t len = sizeof err;
            if (::getsockopt(s.handle_.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        } else if (res < 0) {
            err = -res;
        }
    } else {
        auto& w = waiters(s.handle_, "weft::net::tcp_stream::connect");
        const std::uint32_t seq = seq_of(w, k_write);
        if (::connect(s.handle_.fd, addr.get(), addr.length) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                std::uint32_t before = seq;
                for (;;) {
                    const int res = co_await ready_wait(w, k_write, before);
                    if (res < 0) {
                        err = -res;
                        break;
                    }
                    socklen_t len = sizeof err;
                    if (::getsockopt(s.handle_.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
                    if (err != 0) break;
                    // Connected once the peer address is there; an event may
                    // have been for something else.
                    sockaddr_storage peer;
                    socklen_t plen = sizeof peer;
                    if (::getpeername(s.handle_.fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) break;
                    before = seq_of(w, k_write);
                }
            }
        }
    }
    if (err != 0) throw io_error(err, "connect " + where);
    co_return s;
}

// ---- read: read_call --------------------------------------------------------
//
// On epoll a read is the recv itself when data is there; otherwise the call parks
// its readiness_waiter on the socket with a recv request, and the home worker's
// dispatch() makes the recv when the socket becomes readable and wakes the task
// with the result (or leaves it parked if the edge was for bytes already taken).
// No coroutine frame either way. On io_uring it runs read_ring(), a task.

task<std::size_t> tcp_stream::read_ring(std::span<std::byte> buf) {
    pending_guard busy(handle_);
    const int res = co_await ring_call(op_kind::recv, busy.fd(), buf.data(), buf.size(), 0, POLLIN);
    // A close() meanwhile shut the socket down: the recv saw end of stream.
    if (res <= 0 && busy.closed()) throw io_error(EBADF, "read: the socket was closed");
    if (res < 0) throw io_error(-res, "read " + describe());
    co_return static_cast<std::size_t>(res);
}

bool read_call::await_ready() {
    if (state_ != state::fresh) [[unlikely]] detail::throw_call_awaited_twice("read");
    detail::socket_handle& handle = stream_->handle_;
    throw_if_closed(handle, "read");
    if (buf_.empty()) {  // as recv(2) of zero bytes: nothing to wait for
        state_ = state::done;
        return true;
    }
    if (is_uring("weft::net::tcp_stream::read")) {
        slow_ = stream_->read_ring(buf_);
        state_ = state::slow;
        return false;
    }
    weft::detail::fd_waiters& w = waiters(handle, "weft::net::tcp_stream::read");
    wait_.fd_ = &w;
    state_ = state::waiting;
    for (;;) {
        seq_ = seq_of(w, k_read);
        // The short-read memo: the last recv emptied the receive queue and no
        // readiness edge has arrived since (seq_ unchanged), so this recv would
        // say EAGAIN; wait for the edge instead. Not once the peer hung up: data
        // and FIN may have come under one edge, and no later edge announces the
        // end of stream. relaxed: only this socket's one reader (or dispatch()
        // for it while it is parked) writes drained_at_; hung_up_ is published by
        // the seq_ load above (epoll.cpp, dispatch()).
        if (w.drained_at_.load(std::memory_order_relaxed) == (weft::detail::fd_waiters::k_drained | seq_) &&
            !w.hung_up_.load(std::memory_order_relaxed)) {
            w.drained_at_.store(0, std::memory_order_relaxed);
            return false;
        }
        const ssize_t got = ::recv(handle.fd, buf_.data(), buf_.size(), MSG_DONTWAIT);
        if (got >= 0) {
            // Measured: skipping the failing recv after a short read took weft's
            // 1-worker epoll echo from 0.90x to 0.98x of a plain epoll loop
            // (docs/benchmarks.md).
            w.note_received(seq_, got, buf_.size());
            result_ = static_cast<std::size_t>(got);
            state_ = state::done;
            return true;
        }
        const int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) {
            state_ = state::finished;
            throw io_error(err, "read " + stream_->describe());
        }
        return false;
    }
}

std::coroutine_handle<> read_call::park(std::coroutine_handle<> h, weft::detail::cancel_scope* scope) {
    wait_.waiter_ = h;  // wait_.fd_ was set by await_ready()
    wait_.runtime_id_ = weft::detail::tls_worker->runtime_id_;
    wait_.direction_ = k_read;
    wait_.cancel_ = &on_cancel;
    wait_.recv_buf_ = buf_.data();
    wait_.recv_len_ = buf_.size();
    if (scope != nullptr && (scope->cancelled() || !scope->add(wait_))) {
        wait_.result_ = -ECANCELED;
        return h;
    }
    bool parked = false;
    try {
        parked = weft::detail::park_waiter(wait_, seq_);
    } catch (...) {
        weft::detail::cancel_scope::remove(wait_);
        throw;
    }
    // Parked: dispatch(), close or a cancel may resume us on another thread
    // already; touch nothing.
    if (parked) return std::noop_coroutine();
    // Not parked: the socket was closed, or an edge came since seq_ and
    // park_waiter() made the recv. remove() races only with on_cancel, which
    // then finds us unparked under the fd's lock and does nothing.
    weft::detail::cancel_scope::remove(wait_);
    return h;
}

std::size_t read_call::await_resume() {
    const state was = std::exchange(state_, state::finished);
    if (was == state::done) return result_;
    if (was == state::slow) return task<std::size_t>::awaiter{slow_.handle()}.await_resume();
    // state::waiting: await_suspend() parked, or found the answer at once.
    weft::detail::cancel_scope::remove(wait_);
    const int res = wait_.result_;
    if (res == -ECANCELED) throw cancelled{};
    if (res == -EBADF) throw io_error(EBADF, "read: the socket was closed");
    if (res < 0) throw io_error(-res, "read " + stream_->describe());
    return static_cast<std::size_t>(wait_.received_);
}

// A frame destroyed while this read was parked (shutdown, or a join_handle
// dropped after its runtime), or after it was awaited and resumed.
void read_call::abandon() noexcept {
    // acquire: see readiness_waiter::parked_.
    if (wait_.parked_.load(std::memory_order_acquire)) weft::detail::unpark_waiter(wait_);
    weft::detail::cancel_scope::remove(wait_);
}

// Any thread, under the scope's lock.
void read_call::on_cancel(weft::detail::cancellable& c) noexcept {
    auto& self = static_cast<weft::detail::readiness_waiter&>(c);
    // Not parked: a recv or a close resumed it, or it has not parked yet and
    // park_waiter() will refuse to.
    if (!weft::detail::cancel_readiness_waiter(self)) return;
    self.result_ = -ECANCELED;
    weft::detail::resume_task_of(self.runtime_id_, self.waiter_);
}

// ---- write and write_all: write_call ----------------------------------------

bool tcp_stream::send_now(std::span<const std::byte>& buf, std::size_t& n, bool all) {
    throw_if_closed(handle_, "write");
    if (all && buf.empty()) return true;
    if (is_uring(all ? "weft::net::tcp_stream::write_all" : "weft::net::tcp_stream::write")) return false;
    for (;;) {
        const ssize_t sent = ::send(handle_.fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent >= 0) {
            n = static_cast<std::size_t>(sent);
            buf = buf.subspan(n);
            return !all || buf.empty();
        }
        const int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) throw io_error(err, "write " + describe());
        return false;
    }
}

task<std::size_t> tcp_stream::write_slow(std::span<const std::byte> buf) {
    throw_if_closed(handle_, "write");
    if (is_uring("weft::net::tcp_stream::write")) {
        pending_guard busy(handle_);
        const int res = co_await ring_call(op_kind::send, busy.fd(), const_cast<std::byte*>(buf.data()), buf.size(),
                                           MSG_NOSIGNAL, POLLOUT);
        if (res < 0 && busy.closed()) throw io_error(EBADF, "write: the socket was closed");
        if (res < 0) throw io_error(-res, "write " + describe());
        co_return static_cast<std::size_t>(res);
    }
    auto& w = waiters(handle_, "weft::net::tcp_stream::write");
    for (;;) {
        const std::uint32_t seq = seq_of(w, k_write);
        const ssize_t n = ::send(handle_.fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) co_return static_cast<std::size_t>(n);
        const int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) throw io_error(err, "write " + describe());
        if (const int res = co_await ready_wait(w, k_write, seq); res < 0)
            throw io_error(-res, "write: the socket was closed");
    }
}

task<void> tcp_stream::write_all_slow(std::span<const std::byte> buf) {
    while (!buf.empty()) {
        const std::size_t n = co_await write_slow(buf);
        buf = buf.subspan(n);
    }
}

void tcp_stream::shutdown_write() {
    throw_if_closed(handle_, "shutdown_write");
    if (::shutdown(handle_.fd, SHUT_WR) != 0) {
        const int err = errno;
        throw io_error(err, "shutdown_write " + describe());
    }
}

void tcp_stream::set_nodelay(bool on) {
    throw_if_closed(handle_, "set_nodelay");
    const int v = on ? 1 : 0;
    if (::setsockopt(handle_.fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0) {
        const int err = errno;
        throw io_error(err, "setsockopt(TCP_NODELAY) " + describe());
    }
}

endpoint tcp_stream::peer_address() const { return address_of(handle_, true, "peer_address"); }

endpoint tcp_stream::local_address() const { return address_of(handle_, false, "local_address"); }

tcp_listener tcp_listener::bind(std::string host, std::uint16_t port, listen_options opts) {
    const std::string where = detail::show(host, port);
    if (opts.backlog < 1)
        throw io_error(EINVAL, "listen " + where + ": listen_options.backlog=" + std::to_string(opts.backlog) +
                                   " must be at least 1");
    detail::sock_address addr = detail::parse_address(host, port, "bind");
    tcp_listener l;
    l.handle_ = detail::socket_handle(new_socket(addr.family(), where, "socket for bind"));
    const int one = 1;
    if (::setsockopt(l.handle_.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        throw io_error(errno, "setsockopt(SO_REUSEADDR) " + where);
    if (opts.reuse_port && ::setsockopt(l.handle_.fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        throw io_error(errno, "setsockopt(SO_REUSEPORT) " + where);
    if (::bind(l.handle_.fd, addr.get(), addr.length) != 0) throw io_error(errno, "bind " + where);
    if (::listen(l.handle_.fd, opts.backlog) != 0) throw io_error(errno, "listen " + where);
    l.name_ = l.local_address().to_string();
    return l;
}

task<tcp_stream> tcp_listener::accept() {
    throw_if_closed(handle_, "accept");
    if (is_uring("weft::net::tcp_listener::accept")) {
        pending_guard busy(handle_);
        for (;;) {
            const int res =
                co_await ring_call(op_kind::accept, busy.fd(), nullptr, 0, SOCK_NONBLOCK | SOCK_CLOEXEC, POLLIN);
            if (res >= 0) co_return tcp_stream(res, peer_name(res));
            // A close() meanwhile shut the listener down (accept says EINVAL).
            if (busy.closed()) throw io_error(EBADF, "accept: the listener was closed");
            if (res == -ECONNABORTED) continue;  // the client gave up first
            throw io_error(-res, "accept " + name_);
        }
    }
    auto& w = waiters(handle_, "weft::net::tcp_listener::accept");
    for (;;) {
        const std::uint32_t seq = seq_of(w, k_read);
        detail::sock_address peer;
        peer.length = sizeof peer.storage;
        const int fd = ::accept4(handle_.fd, peer.get(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) co_return tcp_stream(fd, detail::to_endpoint(peer).to_string());
        const int err = errno;
        if (err == EINTR || err == ECONNABORTED) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) throw io_error(err, "accept " + name_);
        if (const int res = co_await ready_wait(w, k_read, seq, true); res < 0)  // several accepts may wait
            throw io_error(-res, "accept: the listener was closed");
    }
}

std::uint16_t tcp_listener::local_port() const { return address_of(handle_, false, "local_port").port; }

endpoint tcp_listener::local_address() const { return address_of(handle_, false, "local_address"); }

}  // namespace weft::net
