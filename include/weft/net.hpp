// weft::net: TCP over the calling worker's reactor. Every awaiting call suspends
// only its task, resumes on the worker whose reactor completed it, and is
// cancelled with its task (e.g. by timeout()): the socket stays usable.
#pragma once

#include <weft/detail/export.hpp>
#include <weft/detail/readiness_waiter.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace weft::net {

// A numeric address and port, e.g. {"127.0.0.1", 4242} or {"::1", 80}.
struct WEFT_API endpoint {
    std::string host;
    std::uint16_t port = 0;

    // "127.0.0.1:4242", or "[::1]:80" for IPv6.
    std::string to_string() const;
};

struct listen_options {
    // SO_REUSEPORT: several listeners (threads or processes) share the port and
    // the kernel spreads connections over them.
    bool reuse_port = false;
    // The listen() backlog: connections the kernel queues before accept().
    int backlog = 1024;
};

namespace detail {

// An open socket: its descriptor, and the epoll backend's per-socket waiters
// (created on first wait; null with io_uring).
struct socket_handle {
    int fd = -1;
    std::atomic<void*> poll_state{nullptr};
    // io_uring calls in progress on this socket (the low bits) and a closed bit
    // (k_closed). A ring operation names the descriptor by number and may still
    // be queued, not yet submitted, so close() must not free the number while
    // one is in progress: it shuts the socket down instead (waking them; they
    // fail with EBADF) and the last one to finish closes the descriptor. epoll
    // waits are woken by close_waiters and do not count here.
    std::atomic<std::uint32_t> pending{0};
    static constexpr std::uint32_t k_closed = 1u << 31;

    socket_handle() noexcept = default;
    explicit socket_handle(int f) noexcept : fd(f) {}
    socket_handle(socket_handle&& o) noexcept;
    socket_handle& operator=(socket_handle&& o) noexcept;
    ~socket_handle() { reset(); }

    // Wakes tasks waiting on the socket (they fail with EBADF), closes the fd.
    WEFT_API void close() noexcept;
    // close(), then frees the epoll backend's waiters, which a closed socket
    // keeps until the object goes (a task woken by the close may still look at
    // them): for the destructor and assignment.
    WEFT_API void reset() noexcept;
};

// A read_call or write_call awaited a second time; `call` is "read" or "write".
[[noreturn]] WEFT_API void throw_call_awaited_twice(const char* call);

}  // namespace detail

class tcp_stream;

// What tcp_stream::read() returns: `co_await` it for the number of bytes read (0
// at end of stream). Like a task it does nothing until awaited, and it converts
// to task<std::size_t> (for a container of tasks, or a function that takes one);
// timeout(), when_all(), when_any() and spawn() take it as it is. Unlike a task it
// needs no coroutine frame on epoll: it makes the recv itself, or parks on the
// socket and has the socket's home worker make the recv once data arrives. On
// io_uring it runs a task around the ring operation. Await it once.
// (gnu::visibility is WEFT_API, spelled where [[nodiscard]] allows it.)
class [[nodiscard, gnu::visibility("default")]] read_call {
public:
    // Before it is awaited only.
    read_call(read_call&& o) noexcept : stream_(o.stream_), buf_(o.buf_) {}
    read_call& operator=(read_call&&) = delete;
    ~read_call() {
        if (state_ == state::waiting) abandon();
    }

    bool await_ready();
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) {
        if (state_ == state::slow) return task<std::size_t>::awaiter{slow_.handle()}.await_suspend(h);
        return park(h, weft::detail::scope_of(h));
    }
    std::size_t await_resume();

    operator task<std::size_t>() && { return weft::detail::as_task(std::move(*this)); }

private:
    friend class tcp_stream;
    enum class state : std::uint8_t { fresh, done, slow, waiting, finished };

    read_call(tcp_stream& s, std::span<std::byte> buf) noexcept : stream_(&s), buf_(buf) {}
    std::coroutine_handle<> park(std::coroutine_handle<> h, weft::detail::cancel_scope* scope);
    void abandon() noexcept;
    static void on_cancel(weft::detail::cancellable& c) noexcept;

    tcp_stream* stream_;
    std::span<std::byte> buf_;
    state state_ = state::fresh;
    // The readiness count read before the recv that said EAGAIN (or before the
    // short-read memo said it would).
    std::uint32_t seq_ = 0;
    std::size_t result_ = 0;
    task<std::size_t> slow_;               // io_uring: the ring operation's task
    weft::detail::readiness_waiter wait_;  // epoll: the parked reader
};

// What tcp_stream::write() (T = std::size_t, bytes written) and write_all()
// (T = void) return: `co_await` it. Like read_call: lazy, convertible to task<T>,
// no coroutine frame when the socket takes the bytes at once (epoll); otherwise
// it runs a task that waits for room. Await it once.
template <class T>
class [[nodiscard]] write_call {
public:
    write_call(write_call&& o) noexcept : stream_(o.stream_), buf_(o.buf_) {}
    write_call& operator=(write_call&&) = delete;

    bool await_ready();
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) {
        return typename task<T>::awaiter{slow_.handle()}.await_suspend(h);
    }
    T await_resume();

    operator task<T>() && { return weft::detail::as_task(std::move(*this)); }

private:
    friend class tcp_stream;
    write_call(tcp_stream& s, std::span<const std::byte> buf) noexcept : stream_(&s), buf_(buf) {}

    tcp_stream* stream_;
    std::span<const std::byte> buf_;
    bool started_ = false;
    bool done_ = false;
    std::size_t written_ = 0;
    task<T> slow_;
};

// A connected TCP socket. Move-only. At most one read and one write may be in
// progress at a time. Closing a socket wakes the tasks suspended in calls on it
// (they fail with io_error EBADF); close it only when no task is running inside
// a call on it on another thread. To stop a pending read or accept and keep the
// socket, cancel it (timeout()). A socket must outlive the tasks that use it;
// a runtime's shutdown destroys suspended tasks before the sockets they own are
// closed.
class WEFT_API tcp_stream {
public:
    tcp_stream() noexcept = default;
    tcp_stream(tcp_stream&&) noexcept = default;
    tcp_stream& operator=(tcp_stream&&) noexcept = default;

    // Connects to a numeric IPv4/IPv6 address ("localhost" is 127.0.0.1).
    // Throws io_error naming the address: "connect 127.0.0.1:4242: Connection refused".
    static task<tcp_stream> connect(std::string host, std::uint16_t port);

    // Bytes read into `buf` (at most its size), 0 at end of stream. An empty
    // `buf` gives 0 at once. `co_await s.read(buf)` gives a std::size_t.
    read_call read(std::span<std::byte> buf) noexcept { return read_call(*this, buf); }
    // Bytes written (at least 1 for a non-empty buffer; may be short).
    write_call<std::size_t> write(std::span<const std::byte> buf) noexcept {
        return write_call<std::size_t>(*this, buf);
    }
    // Writes all of `buf` or throws io_error.
    write_call<void> write_all(std::span<const std::byte> buf) noexcept { return write_call<void>(*this, buf); }
    write_call<void> write_all(std::string_view text) noexcept {
        return write_all(std::as_bytes(std::span(text.data(), text.size())));
    }

    // Half-close: the peer reads end of stream; we can still read.
    void shutdown_write();
    // Closes now (also done by the destructor). Idempotent.
    void close() noexcept { handle_.close(); }
    bool is_open() const noexcept { return handle_.fd >= 0; }

    // TCP_NODELAY: send small writes at once instead of coalescing them (Nagle).
    void set_nodelay(bool on = true);
    endpoint peer_address() const;
    endpoint local_address() const;
    int native_handle() const noexcept { return handle_.fd; }

private:
    friend class tcp_listener;
    friend class read_call;
    template <class T>
    friend class write_call;
    tcp_stream(int fd, std::string peer) noexcept : handle_(fd), peer_(std::move(peer)) {}
    std::string describe() const;

    // read_call's io_uring path.
    task<std::size_t> read_ring(std::span<std::byte> buf);
    // write_call's parts. send_now(): one send on epoll; true when it finished
    // (`buf` advanced past what it sent, `n` the count), false when the rest
    // needs write_slow() / write_all_slow() (always on io_uring).
    bool send_now(std::span<const std::byte>& buf, std::size_t& n, bool all);
    task<std::size_t> write_slow(std::span<const std::byte> buf);
    task<void> write_all_slow(std::span<const std::byte> buf);

    detail::socket_handle handle_;
    // The peer as connect() was given it or accept() found it, for error
    // messages: after a reset getpeername() can no longer tell.
    std::string peer_;
};

// A bound, listening TCP socket. Several tasks may wait in accept() at once;
// each connection goes to one of them.
class WEFT_API tcp_listener {
public:
    tcp_listener() noexcept = default;
    tcp_listener(tcp_listener&&) noexcept = default;
    tcp_listener& operator=(tcp_listener&&) noexcept = default;

    // Binds and listens; `host` is a numeric IPv4 or IPv6 address, "" or
    // "0.0.0.0" for every IPv4 interface, "::" for every interface, "localhost"
    // for 127.0.0.1. Port 0 picks a free port (see local_port()). Callable from
    // any thread. Throws io_error: "bind 127.0.0.1:80: Permission denied".
    static tcp_listener bind(std::string host, std::uint16_t port, listen_options opts = {});

    // The next incoming connection.
    task<tcp_stream> accept();

    std::uint16_t local_port() const;
    endpoint local_address() const;
    void close() noexcept { handle_.close(); }
    bool is_open() const noexcept { return handle_.fd >= 0; }
    int native_handle() const noexcept { return handle_.fd; }

private:
    detail::socket_handle handle_;
    std::string name_;  // "127.0.0.1:4242", for error messages
};

template <class T>
bool write_call<T>::await_ready() {
    if (started_) [[unlikely]] detail::throw_call_awaited_twice("write");
    started_ = true;
    done_ = stream_->send_now(buf_, written_, std::is_void_v<T>);
    if (done_) return true;
    if constexpr (std::is_void_v<T>)
        slow_ = stream_->write_all_slow(buf_);
    else
        slow_ = stream_->write_slow(buf_);
    return false;
}

template <class T>
T write_call<T>::await_resume() {
    if (done_) {
        if constexpr (!std::is_void_v<T>) return written_;
        else return;
    }
    return typename task<T>::awaiter{slow_.handle()}.await_resume();
}

inline detail::socket_handle::socket_handle(socket_handle&& o) noexcept
    : fd(o.fd), poll_state(o.poll_state.exchange(nullptr, std::memory_order_relaxed)) {
    // relaxed: moving a socket while an operation is in progress is not allowed,
    // so no other thread touches poll_state now.
    o.fd = -1;
}

inline detail::socket_handle& detail::socket_handle::operator=(socket_handle&& o) noexcept {
    if (this != &o) {
        reset();
        fd = o.fd;
        o.fd = -1;
        // relaxed: as in the move constructor.
        poll_state.store(o.poll_state.exchange(nullptr, std::memory_order_relaxed), std::memory_order_relaxed);
    }
    return *this;
}

}  // namespace weft::net
