// echo-pingpong: one client (the main thread) in strict request/response with one server
// over 127.0.0.1, for counting instructions per request with callgrind, which is
// repeatable where wall-clock rates on a shared machine are not:
//
//   valgrind --tool=callgrind build/bench/echo-pingpong weft 2000
//   valgrind --tool=callgrind build/bench/echo-pingpong weft 6000
//   (difference of the totals) / 4000 = instructions per request
//
// and the same for `plain`. The servers are weft-echo-bench's (echo_servers.hpp):
// the plain single-threaded epoll loop, and weft's accept loop with a task per
// connection, here with 1 worker on the epoll backend (valgrind does not follow
// io_uring). The client (a blocking socket: send 64 bytes, receive 64) is the
// same code for both, so the difference between the two is what weft's server
// costs beyond the plain loop's. Every request parks the server (one
// connection): the worst case for the scheduler's sleep/wake path.
#include "echo_servers.hpp"

#include <weft/weft.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace {

using namespace echo_servers;

constexpr std::size_t k_message = 64;

// `requests` round trips on one connection; false if an echo differed.
bool run_client(std::uint16_t port, int requests) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw_errno("socket");
    sockaddr_in a = loopback(port);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw_errno("connect");
    set_nodelay(fd.get());
    char out[k_message];
    char back[k_message];
    for (int i = 0; i < requests; ++i) {
        std::memset(out, 'a' + i % 26, sizeof out);
        if (::send(fd.get(), out, sizeof out, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof out)) throw_errno("send");
        std::size_t got = 0;
        while (got < sizeof back) {
            const ssize_t n = ::recv(fd.get(), back + got, sizeof back - got, 0);
            if (n < 0) throw_errno("recv");
            if (n == 0) throw std::runtime_error("recv: the server closed the connection");
            got += static_cast<std::size_t>(n);
        }
        if (std::memcmp(out, back, sizeof out) != 0) return false;
    }
    return true;  // the socket closes before the server stops
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
        bool same = false;
        if (mode == "plain") {
            plain_epoll_server server;
            same = run_client(server.port(), requests);
        } else {
            weft_server server(weft::config{.workers = 1, .io_backend = "epoll"});
            same = run_client(server.port(), requests);
        }
        std::printf("%s: %d requests, echoes %s\n", mode.c_str(), requests, same ? "match" : "DIFFER");
        return same ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo-pingpong: %s\n", e.what());
        return 1;
    }
}
