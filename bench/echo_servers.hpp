// The two echo servers weft-echo-bench compares (bench/echo_bench.cpp), shared
// with echo-pingpong (bench/echo_pingpong.cpp), which counts their instructions
// per request under callgrind: the plain single-threaded epoll loop (the
// baseline) and weft's accept loop with a task per connection. Each listens on
// 127.0.0.1 port 0, runs until destroyed, and says port().
#pragma once

#include <weft/weft.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace echo_servers {

// Every server reads into a buffer of this size, so none gets an advantage from it.
inline constexpr std::size_t k_read_buffer = 16 * 1024;
// listen() backlog of the plain loop: weft's listen_options default.
inline constexpr int k_backlog = 1024;

[[noreturn]] inline void throw_errno(const std::string& call) {
    throw std::runtime_error(call + ": " + std::strerror(errno));
}

class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    void reset() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

inline sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

inline void set_nodelay(int fd) {
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) throw_errno("setsockopt(TCP_NODELAY)");
}

inline void epoll_add(int epfd, int fd, std::uint32_t events, void* tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = tag;
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl(ADD)");
}

inline void epoll_modify(int epfd, int fd, std::uint32_t events, void* tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = tag;
    if (::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0) throw_errno("epoll_ctl(MOD)");
}

// ---------------------------------------------------------------------------
// The baseline: the echo server a C programmer writes. One thread, level-triggered
// epoll, one recv per readiness event and the bytes sent straight back; a short
// send keeps the rest and waits for EPOLLOUT (not reading meanwhile) to finish it.
class plain_epoll_server {
public:
    plain_epoll_server() {
        listener_ = unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (listener_.get() < 0) throw_errno("socket");
        const int one = 1;
        if (::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
            throw_errno("setsockopt(SO_REUSEADDR)");
        sockaddr_in addr = loopback(0);
        if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw_errno("bind 127.0.0.1:0");
        if (::listen(listener_.get(), k_backlog) != 0) throw_errno("listen");
        socklen_t len = sizeof addr;
        if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw_errno("getsockname");
        port_ = ntohs(addr.sin_port);
        epoll_ = unique_fd(::epoll_create1(EPOLL_CLOEXEC));
        if (epoll_.get() < 0) throw_errno("epoll_create1");
        stop_ = unique_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (stop_.get() < 0) throw_errno("eventfd");
        epoll_add(epoll_.get(), listener_.get(), EPOLLIN, &listener_);
        epoll_add(epoll_.get(), stop_.get(), EPOLLIN, &stop_);
        thread_ = std::thread([this] {
            ::pthread_setname_np(::pthread_self(), "plain-epoll");  // for perf and top
            run();
        });
    }
    plain_epoll_server(const plain_epoll_server&) = delete;
    plain_epoll_server& operator=(const plain_epoll_server&) = delete;

    // Stops the loop, which closes every connection; the fds close after it.
    ~plain_epoll_server() {
        [[maybe_unused]] const int r = ::eventfd_write(stop_.get(), 1);
        thread_.join();
    }

    std::uint16_t port() const noexcept { return port_; }

private:
    struct connection {
        unique_fd fd;
        std::size_t index = 0;  // in conns_
        // Bytes [pending_begin, pending_end) of buf are still to be sent.
        std::size_t pending_begin = 0;
        std::size_t pending_end = 0;
        std::array<char, k_read_buffer> buf;
    };

    void run() {
        try {
            std::array<epoll_event, 256> events;
            for (;;) {
                const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    throw_errno("epoll_wait");
                }
                for (int i = 0; i < n; ++i) {
                    void* tag = events[static_cast<std::size_t>(i)].data.ptr;
                    if (tag == &stop_) {
                        conns_.clear();
                        return;
                    }
                    if (tag == &listener_)
                        accept_all();
                    else
                        on_ready(*static_cast<connection*>(tag));
                }
            }
        } catch (const std::exception& e) {
            // The client then sees its connections close and reports the failure.
            std::fprintf(stderr, "plain epoll server: %s\n", e.what());
            conns_.clear();
        }
    }

    void accept_all() {
        for (;;) {
            const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                if (errno == EINTR || errno == ECONNABORTED) continue;
                throw_errno("accept4");
            }
            auto c = std::make_unique<connection>();
            c->fd = unique_fd(fd);
            c->index = conns_.size();
            set_nodelay(fd);
            epoll_add(epoll_.get(), fd, EPOLLIN, c.get());
            conns_.push_back(std::move(c));
        }
    }

    void on_ready(connection& c) {
        if (c.pending_begin != c.pending_end) {  // EPOLLOUT after a short send
            if (!flush(c)) return close_connection(c);
            if (c.pending_begin == c.pending_end) epoll_modify(epoll_.get(), c.fd.get(), EPOLLIN, &c);
            return;
        }
        const ssize_t n = ::recv(c.fd.get(), c.buf.data(), c.buf.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) return close_connection(c);  // end of stream, or reset
        c.pending_begin = 0;
        c.pending_end = static_cast<std::size_t>(n);
        if (!flush(c)) return close_connection(c);
        if (c.pending_begin != c.pending_end) epoll_modify(epoll_.get(), c.fd.get(), EPOLLOUT, &c);
    }

    // Sends what is pending until done or EAGAIN; false when the connection failed.
    static bool flush(connection& c) {
        while (c.pending_begin != c.pending_end) {
            const ssize_t n =
                ::send(c.fd.get(), c.buf.data() + c.pending_begin, c.pending_end - c.pending_begin, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                return errno == EAGAIN || errno == EWOULDBLOCK;
            }
            c.pending_begin += static_cast<std::size_t>(n);
        }
        c.pending_begin = c.pending_end = 0;
        return true;
    }

    // Closing the fd takes it out of the epoll set; at most one event per fd comes
    // in a batch, so no later event of this batch names the freed connection.
    void close_connection(connection& c) {
        const std::size_t i = c.index;
        std::swap(conns_[i], conns_.back());
        conns_[i]->index = i;
        conns_.pop_back();
    }

    unique_fd listener_;
    unique_fd epoll_;
    unique_fd stop_;
    std::uint16_t port_ = 0;
    std::vector<std::unique_ptr<connection>> conns_;  // the loop's thread only
    std::thread thread_;
};

// ---------------------------------------------------------------------------
// weft: an accept loop that spawns one task per connection.
inline weft::task<void> echo(weft::net::tcp_stream s) {
    std::vector<std::byte> buf(k_read_buffer);
    try {
        s.set_nodelay();
        for (;;) {
            const std::size_t n = co_await s.read(buf);
            if (n == 0) break;
            co_await s.write_all(std::span<const std::byte>(buf.data(), n));
        }
    } catch (const weft::io_error&) {
        // The client resets connections that still have a reply in flight when it
        // stops: that ends the connection too.
    }
}

inline weft::task<void> accept_loop(weft::net::tcp_listener& listener) {
    try {
        for (;;) weft::spawn(echo(co_await listener.accept())).detach();
    } catch (const std::exception& e) {
        // The client then stalls and reports the failure.
        std::fprintf(stderr, "weft accept loop: %s\n", e.what());
    }
}

// Stopped by destruction: the client has closed its connections by then, and the
// runtime destroys the accept loop (and any echo task still suspended) with it.
class weft_server {
public:
    explicit weft_server(const weft::config& cfg)
        : listener_(weft::net::tcp_listener::bind("127.0.0.1", 0)), rt_(cfg) {
        rt_.spawn(accept_loop(listener_)).detach();
    }

    std::uint16_t port() const { return listener_.local_port(); }

private:
    // Declared before rt_ so that it outlives the runtime, which destroys the
    // accept loop suspended on it (net.hpp: a socket outlives its tasks).
    weft::net::tcp_listener listener_;
    weft::runtime rt_;
};

}  // namespace echo_servers
