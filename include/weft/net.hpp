// weft::net: TCP over the calling worker's reactor. Every awaiting call suspends
// only its task, resumes on the worker whose reactor completed it, and is
// cancelled with its task (e.g. by timeout()): the socket stays usable.
#pragma once

#include <weft/detail/export.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>

#include <atomic>
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
    // io_uring operations awaiting this socket (epoll waits are woken by
    // close_waiters instead); close() shuts the socket down first when there are
    // any, so that the operations holding it complete.
    std::atomic<std::uint32_t> pending{0};

    socket_handle() noexcept = default;
    explicit socket_handle(int f) noexcept : fd(f) {}
    socket_handle(socket_handle&& o) noexcept;
    socket_handle& operator=(socket_handle&& o) noexcept;
    ~socket_handle() { close(); }

    // Wakes tasks waiting on the socket (they fail with EBADF), closes the fd.
    WEFT_API void close() noexcept;
};

}  // namespace detail

// A connected TCP socket. Move-only. At most one read and one write may be in
// progress at a time. Close (or destroy) a socket only when no operation on it is
// in progress on another thread: to stop a pending read or accept, cancel it
// (timeout()), which leaves the socket usable. A socket must outlive the tasks
// that use it; a runtime's shutdown destroys suspended tasks before the sockets
// they own are closed.
class WEFT_API tcp_stream {
public:
    tcp_stream() noexcept = default;
    tcp_stream(tcp_stream&&) noexcept = default;
    tcp_stream& operator=(tcp_stream&&) noexcept = default;

    // Connects to a numeric IPv4/IPv6 address ("localhost" is 127.0.0.1).
    // Throws io_error naming the address: "connect 127.0.0.1:4242: Connection refused".
    static task<tcp_stream> connect(std::string host, std::uint16_t port);

    // Bytes read into `buf` (at most its size), 0 at end of stream. An empty
    // `buf` gives 0 at once.
    task<std::size_t> read(std::span<std::byte> buf);
    // Bytes written (at least 1 for a non-empty buffer; may be short).
    task<std::size_t> write(std::span<const std::byte> buf);
    // Writes all of `buf` or throws io_error.
    task<void> write_all(std::span<const std::byte> buf);
    task<void> write_all(std::string_view text);

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
    tcp_stream(int fd, std::string peer) noexcept : handle_(fd), peer_(std::move(peer)) {}
    std::string describe() const;

    detail::socket_handle handle_;
    // The peer as connect() was given it or accept() found it, for error
    // messages: after a reset getpeername() can no longer tell.
    std::string peer_;
};

// A bound, listening TCP socket.
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

inline detail::socket_handle::socket_handle(socket_handle&& o) noexcept
    : fd(o.fd), poll_state(o.poll_state.exchange(nullptr, std::memory_order_relaxed)) {
    // relaxed: moving a socket while an operation is in progress is not allowed,
    // so no other thread touches poll_state now.
    o.fd = -1;
}

inline detail::socket_handle& detail::socket_handle::operator=(socket_handle&& o) noexcept {
    if (this != &o) {
        close();
        fd = o.fd;
        o.fd = -1;
        // relaxed: as in the move constructor.
        poll_state.store(o.poll_state.exchange(nullptr, std::memory_order_relaxed), std::memory_order_relaxed);
    }
    return *this;
}

}  // namespace weft::net
