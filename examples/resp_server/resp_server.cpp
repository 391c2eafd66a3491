// resp_server: a Redis-protocol (RESP2) key-value server on weft, driven by the
// stock redis-cli and redis-benchmark. Every connection is a task; the store is
// sharded so workers serving different keys do not contend; expired keys go lazily
// on access and by an active sweep on a weft timer. SIGINT/SIGTERM stop it
// gracefully: no new connections, in-flight replies finish, exit status 0.
//
//     resp_server [--bind ADDR] [--port N] [--workers N] [--reuse-port]
//                 [--maxclients N] [--max-bulk BYTES]
#include "commands.hpp"
#include "resp_protocol.hpp"
#include "store.hpp"

#include <weft/weft.hpp>

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace {

struct options {
    std::string bind = "127.0.0.1";
    std::uint16_t port = 6379;
    unsigned workers = std::max(1u, std::thread::hardware_concurrency());
    bool reuse_port = false;
    std::size_t maxclients = 10000;
    std::size_t max_bulk = std::size_t{512} * 1024 * 1024;
};

constexpr const char* k_usage =
    "usage: resp_server [--bind ADDR] [--port N] [--workers N] [--reuse-port] [--maxclients N] [--max-bulk BYTES]\n"
    "  --bind ADDR       address to listen on (default 127.0.0.1)\n"
    "  --port N          TCP port, 0..65535 (default 6379; 0 picks a free one, printed at start)\n"
    "  --workers N       weft worker threads, 1..1024 (default: hardware threads)\n"
    "  --reuse-port      SO_REUSEPORT, so several processes can share the port\n"
    "  --maxclients N    most simultaneous clients, 1..1000000 (default 10000)\n"
    "  --max-bulk BYTES  longest bulk string a client may send, 1..4294967296 (default 536870912)\n"
    "SIGINT or SIGTERM stops it gracefully (exit status 0).\n";

bool parse_number(const char* s, unsigned long long lo, unsigned long long hi, unsigned long long& out) {
    if (s == nullptr || *s < '0' || *s > '9') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
    out = v;
    return true;
}

// Everything the connections share.
struct server {
    options opt;
    resp::store db;
    resp::server_info info;
    resp::limits limits;
    weft::event stopping;
    // Open connections' descriptors, so a stop can end their reads.
    std::mutex open_mutex;
    std::set<int> open;
};

weft::task<void> serve(weft::net::tcp_stream s, server& srv) {
    const int fd = s.native_handle();
    {
        std::lock_guard lock(srv.open_mutex);
        srv.open.insert(fd);
    }
    struct unregister {
        server& srv;
        int fd;
        ~unregister() {
            std::lock_guard lock(srv.open_mutex);
            srv.open.erase(fd);
            srv.info.connections_now.fetch_sub(1, std::memory_order_relaxed);  // relaxed: a statistic
        }
    } guard{srv, fd};
    std::string in;
    std::string out;
    resp::command cmd;
    resp::client_state client;
    std::array<std::byte, 16 * 1024> buf;
    try {
        for (;;) {
            const std::size_t n = co_await s.read(buf);
            if (n == 0) break;  // the client left (or the server is stopping)
            in.append(reinterpret_cast<const char*>(buf.data()), n);
            std::size_t pos = 0;
            bool close_after = false;
            // Every complete request of this read batch; all their replies go out
            // in one write (pipelining).
            while (!client.quit) {
                const resp::parse_result r = resp::parse_command(std::string_view(in).substr(pos), cmd, srv.limits);
                if (r.status == resp::parse_status::incomplete) break;
                if (r.status == resp::parse_status::error) {
                    resp::put_error(out, "ERR " + r.error);
                    close_after = true;
                    break;
                }
                pos += r.consumed;
                if (r.status == resp::parse_status::complete) resp::execute(srv.db, srv.info, client, cmd, out);
            }
            in.erase(0, pos);
            if (!out.empty()) {
                co_await s.write_all(out);
                out.clear();
            }
            if (close_after || client.quit) break;
        }
    } catch (const weft::io_error&) {
        // The client vanished mid-request (reset, broken pipe): drop it quietly.
    }
}

weft::task<void> accept_loop(weft::net::tcp_listener& listener, server& srv) {
    for (;;) {
        weft::net::tcp_stream s = co_await listener.accept();
        srv.info.connections_total.fetch_add(1, std::memory_order_relaxed);  // relaxed: statistics
        if (srv.info.connections_now.fetch_add(1, std::memory_order_relaxed) >= srv.opt.maxclients) {
            srv.info.connections_now.fetch_sub(1, std::memory_order_relaxed);
            const std::string_view refuse = "-ERR max number of clients reached\r\n";
            ::send(s.native_handle(), refuse.data(), refuse.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;  // s closes here
        }
        s.set_nodelay();
        weft::spawn(serve(std::move(s), srv)).detach();
    }
}

weft::task<void> sweep_expired(server& srv) {
    for (;;) {
        // About 2,000 buckets and entries every 100 ms (more while many have
        // expired): the sweep's cost does not grow with the store.
        co_await weft::sleep_for(std::chrono::milliseconds(100));
        srv.info.expired_swept.fetch_add(srv.db.sweep_expired(2000), std::memory_order_relaxed);
    }
}

weft::task<void> run_server(server& srv) {
    auto listener = weft::net::tcp_listener::bind(srv.opt.bind, srv.opt.port, {.reuse_port = srv.opt.reuse_port});
    srv.info.port = listener.local_port();
    std::printf("resp_server: listening on %s:%u with %u workers\n", srv.opt.bind.c_str(), srv.info.port,
                srv.opt.workers);
    std::fflush(stdout);
    // Runs until a stop is requested (or accepting fails); the others are then
    // cancelled and joined. The event's wait() goes to when_any as it is.
    co_await weft::when_any(accept_loop(listener, srv), sweep_expired(srv), srv.stopping.wait());
    listener.close();
    {
        // End every connection's reads: each finishes the requests it has, writes
        // their replies, sees end of stream and closes.
        std::lock_guard lock(srv.open_mutex);
        for (int fd : srv.open) ::shutdown(fd, SHUT_RD);
    }
    while (srv.info.connections_now.load(std::memory_order_relaxed) != 0)  // relaxed: polled until zero
        co_await weft::sleep_for(std::chrono::milliseconds(5));
}

int bad_flag(const std::string& what) {
    std::fprintf(stderr, "resp_server: %s\n%s", what.c_str(), k_usage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    server srv;
    options& opt = srv.opt;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(k_usage, stdout);
            return 0;
        }
        if (flag == "--reuse-port") {
            opt.reuse_port = true;
            continue;
        }
        const bool takes_value = flag == "--bind" || flag == "--port" || flag == "--workers" ||
                                 flag == "--maxclients" || flag == "--max-bulk";
        if (!takes_value) return bad_flag("unknown flag \"" + flag + "\"");
        if (i + 1 >= argc) return bad_flag(flag + ": missing value");
        const char* value = argv[++i];
        unsigned long long v = 0;
        if (flag == "--bind") {
            opt.bind = value;
        } else if (flag == "--port") {
            if (!parse_number(value, 0, 65535, v)) return bad_flag(flag + " \"" + value + "\": expected a port in 0..65535");
            opt.port = static_cast<std::uint16_t>(v);
        } else if (flag == "--workers") {
            if (!parse_number(value, 1, 1024, v)) return bad_flag(flag + " \"" + value + "\": expected an integer in 1..1024");
            opt.workers = static_cast<unsigned>(v);
        } else if (flag == "--maxclients") {
            if (!parse_number(value, 1, 1000000, v))
                return bad_flag(flag + " \"" + value + "\": expected an integer in 1..1000000");
            opt.maxclients = static_cast<std::size_t>(v);
        } else {
            if (!parse_number(value, 1, 4294967296ull, v))
                return bad_flag(flag + " \"" + value + "\": expected a byte count in 1..4294967296");
            opt.max_bulk = static_cast<std::size_t>(v);
        }
    }
    srv.limits.max_bulk = opt.max_bulk;
    srv.info.workers = opt.workers;

    // Room for maxclients sockets plus the runtime's own descriptors: the soft
    // limit is raised (and the hard one, where the process may). Where the system
    // refuses, maxclients shrinks to fit and the server says so, as Redis does.
    constexpr std::size_t k_reserved_fds = 64;
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < opt.maxclients + k_reserved_fds) {
        const rlim_t want = opt.maxclients + k_reserved_fds;
        rlimit raised{want, std::max(lim.rlim_max, want)};
        if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
            raised = {std::min(lim.rlim_max, want), lim.rlim_max};
            setrlimit(RLIMIT_NOFILE, &raised);
        }
        getrlimit(RLIMIT_NOFILE, &lim);
        if (lim.rlim_cur < want) {
            const std::size_t fit = lim.rlim_cur > 2 * k_reserved_fds ? lim.rlim_cur - k_reserved_fds : k_reserved_fds;
            std::fprintf(stderr,
                         "resp_server: the open-file limit is %llu and cannot be raised to %llu; --maxclients "
                         "reduced from %zu to %zu\n",
                         static_cast<unsigned long long>(lim.rlim_cur), static_cast<unsigned long long>(want),
                         opt.maxclients, fit);
            opt.maxclients = fit;
        }
    }

    // SIGINT/SIGTERM go to one thread that asks the server to stop; every other
    // thread (the workers inherit this mask) has them blocked.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    std::atomic<bool> exiting{false};
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        if (!exiting.load()) std::fprintf(stderr, "resp_server: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        srv.stopping.set();
    });

    int status = 0;
    try {
        weft::runtime rt(weft::config{.workers = opt.workers});
        rt.block_on(run_server(srv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "resp_server: %s\n", e.what());
        status = 1;
    }
    exiting.store(true);
    pthread_kill(signal_thread.native_handle(), SIGTERM);  // ends its sigwait if no signal came
    signal_thread.join();
    return status;
}
