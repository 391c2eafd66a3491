// echo-pingpong: one client thread in strict request/response with one server
// over 127.0.0.1, for counting instructions per request with callgrind, which is
// repeatable where wall-clock rates on a shared machine are not:
//
//   valgrind --tool=callgrind build/bench/echo-pingpong weft 2000
//   valgrind --tool=callgrind build/bench/echo-pingpong weft 6000
//   (difference of the totals) / 4000 = instructions per request
//
// and the same for `plain`, the baseline: a single-threaded level-triggered
// epoll loop, as in weft-echo-bench. The client (a blocking socket: send 64
// bytes, receive 64) is the same code in both, so the difference between the
// two is what weft's server side costs beyond the plain loop's. Every request
// parks the server (one connection), so this is the worst case for the
// scheduler's sleep/wake path. Uses the epoll backend: valgrind does not
// follow io_uring.
#include <weft/weft.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t k_message = 64;

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

void set_nodelay(int fd) {
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) fail("setsockopt(TCP_NODELAY)");
}

// The client: `requests` round trips on one connection; false if an echo differed.
bool run_client(std::uint16_t port, int requests) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail("connect");
    set_nodelay(fd);
    char out[k_message];
    char back[k_message];
    bool same = true;
    for (int i = 0; i < requests && same; ++i) {
        std::memset(out, 'a' + i % 26, sizeof out);
        if (::send(fd, out, sizeof out, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof out)) fail("send");
        std::size_t got = 0;
        while (got < sizeof back) {
            const ssize_t n = ::recv(fd, back + got, sizeof back - got, 0);
            if (n <= 0) fail("recv");
            got += static_cast<std::size_t>(n);
        }
        same = std::memcmp(out, back, sizeof out) == 0;
    }
    ::close(fd);
    return same;
}

weft::task<void> weft_echo(weft::net::tcp_stream s) {
    s.set_nodelay();
    std::vector<std::byte> buf(16 * 1024);
    for (;;) {
        const std::size_t n = co_await s.read(buf);
        if (n == 0) co_return;
        co_await s.write_all(std::span<const std::byte>(buf.data(), n));
    }
}

bool run_weft(int requests) {
    weft::runtime rt(weft::config{.workers = 1, .io_backend = "epoll"});
    weft::net::tcp_listener l = weft::net::tcp_listener::bind("127.0.0.1", 0);
    bool same = false;
    std::thread client([&] { same = run_client(l.local_port(), requests); });
    rt.block_on([](weft::net::tcp_listener& l) -> weft::task<void> { co_await weft_echo(co_await l.accept()); }(l));
    client.join();
    return same;
}

// The baseline: accept one connection, then epoll_wait / recv / send until the
// client closes.
bool run_plain(int requests) {
    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) fail("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd, 16) != 0 ||
        ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        fail("bind/listen");
    bool same = false;
    std::thread client([&, port = ntohs(a.sin_port)] { same = run_client(port, requests); });
    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) fail("accept4");
    set_nodelay(fd);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (ep < 0 || ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll");
    std::vector<char> buf(16 * 1024);
    for (bool open = true; open;) {
        if (::epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR) fail("epoll_wait");
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n == 0) open = false;
        if (n < 0 && errno != EAGAIN) fail("recv");
        // Loopback with 64-byte messages: the send buffer always has room.
        if (n > 0 && ::send(fd, buf.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) fail("send");
    }
    client.join();
    ::close(ep);
    ::close(fd);
    ::close(lfd);
    return same;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc == 3 ? argv[1] : "";
    const int requests = argc == 3 ? std::atoi(argv[2]) : 0;
    if ((mode != "weft" && mode != "plain") || requests < 1) {
        std::fputs("usage: echo-pingpong weft|plain REQUESTS (REQUESTS >= 1)\n", stderr);
        return 2;
    }
    try {
        const bool same = mode == "weft" ? run_weft(requests) : run_plain(requests);
        std::printf("%s: %d requests, echoes %s\n", mode.c_str(), requests, same ? "match" : "DIFFER");
        return same ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo-pingpong: %s\n", e.what());
        return 1;
    }
}
