// weft-echo-bench: TCP request/response throughput of weft::net beside a plain
// single-threaded epoll echo loop, every server driven by the same epoll client in
// one process. scripts/bench.sh runs it after the fork-join comparison.
//   weft-echo-bench [--connections N] [--size BYTES] [--seconds S] [--runs K]
#include "echo_servers.hpp"

#include <weft/weft.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace echo_servers;
using clock_type = std::chrono::steady_clock;

constexpr double k_warmup_seconds = 0.3;
// A server that answers nothing for this long has failed, not slowed down.
constexpr auto k_stall_limit = std::chrono::seconds(5);

struct options {
    int connections = 50;
    std::size_t size = 64;
    double seconds = 2.0;
    int runs = 3;
};

double cpu_seconds(clockid_t clock) {
    timespec ts{};
    if (::clock_gettime(clock, &ts) != 0) throw_errno("clock_gettime");
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("fcntl(O_NONBLOCK)");
}

// ---------------------------------------------------------------------------
// The client, the same for every server: one thread, level-triggered epoll,
// `connections` sockets each doing strict ping-pong: send `size` bytes, read until
// `size` bytes came back, check they are the ones sent, repeat.
class echo_client {
public:
    struct result {
        std::uint64_t round_trips = 0;
        double seconds = 0;
        // CPU time of every thread but the client's over the measured interval,
        // kernel time included: what the server spent.
        double server_cpu_seconds = 0;
        double per_second() const { return static_cast<double>(round_trips) / seconds; }
        double server_cpu_us_per_request() const {
            return server_cpu_seconds * 1e6 / static_cast<double>(round_trips);
        }
    };

    echo_client(std::uint16_t port, const options& opt) : size_(opt.size), seconds_(opt.seconds) {
        epoll_ = unique_fd(::epoll_create1(EPOLL_CLOEXEC));
        if (epoll_.get() < 0) throw_errno("epoll_create1");
        const sockaddr_in addr = loopback(port);
        conns_.resize(static_cast<std::size_t>(opt.connections));
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            connection& c = conns_[i];
            c.index = static_cast<unsigned>(i);
            c.fd = unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
            if (c.fd.get() < 0) throw_errno("socket");
            // Blocking connect: the kernel finishes the handshake from the backlog,
            // whenever the server gets to accept().
            if (::connect(c.fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
                throw_errno("connect 127.0.0.1:" + std::to_string(port));
            set_nodelay(c.fd.get());
            set_nonblocking(c.fd.get());
            c.sent.resize(size_);
            c.got.resize(size_);
            epoll_add(epoll_.get(), c.fd.get(), EPOLLIN, &c);
        }
    }

    // Warms up, then counts round trips over the measured interval.
    result run() {
        for (connection& c : conns_) start_request(c);
        std::array<epoll_event, 256> events;
        std::uint64_t total = 0;
        std::uint64_t at_start = 0;
        const auto begin = clock_type::now();
        const auto warm_end = begin + std::chrono::duration_cast<clock_type::duration>(
                                          std::chrono::duration<double>(k_warmup_seconds));
        std::optional<clock_type::time_point> measure_start;
        double process_cpu_start = 0;
        double client_cpu_start = 0;
        auto last_progress = begin;
        for (;;) {
            const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), 50);
            if (n < 0 && errno != EINTR) throw_errno("epoll_wait (client)");
            const std::uint64_t before = total;
            for (int i = 0; i < n; ++i) {
                const epoll_event& ev = events[static_cast<std::size_t>(i)];
                connection& c = *static_cast<connection*>(ev.data.ptr);
                if ((ev.events & EPOLLOUT) && c.sent_bytes < size_) send_more(c);
                if ((ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && receive(c)) ++total;
            }
            const auto now = clock_type::now();
            if (total != before) last_progress = now;
            if (now - last_progress > k_stall_limit)
                throw std::runtime_error("the server sent nothing for 5 s");
            if (!measure_start) {
                if (now >= warm_end) {
                    measure_start = now;
                    at_start = total;
                    process_cpu_start = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
                    client_cpu_start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
                }
            } else if (std::chrono::duration<double>(now - *measure_start).count() >= seconds_) {
                if (total == at_start)
                    throw std::runtime_error("no round trip finished in the measured interval: "
                                             "use fewer --size bytes or more --seconds");
                const double process_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu_start;
                const double client_cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - client_cpu_start;
                return {total - at_start, std::chrono::duration<double>(now - *measure_start).count(),
                        process_cpu - client_cpu};
            }
        }
    }

private:
    struct connection {
        unique_fd fd;
        unsigned index = 0;
        std::uint64_t round = 0;  // round trips completed
        std::vector<unsigned char> sent, got;
        std::size_t sent_bytes = 0;
        std::size_t got_bytes = 0;
        bool watching_writes = false;
    };

    void start_request(connection& c) {
        // Every round's bytes differ from the last one's (7 is odd, so the salt
        // cycles through all 256 values): a stale or misrouted reply fails the check.
        const auto salt = static_cast<unsigned char>(c.index * 31u + c.round * 7u);
        for (std::size_t i = 0; i < size_; ++i) c.sent[i] = static_cast<unsigned char>(salt + i * 13u);
        c.sent_bytes = 0;
        c.got_bytes = 0;
        send_more(c);
    }

    void send_more(connection& c) {
        while (c.sent_bytes < size_) {
            const ssize_t n = ::send(c.fd.get(), c.sent.data() + c.sent_bytes, size_ - c.sent_bytes, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                throw_errno("send (client connection " + std::to_string(c.index) + ")");
            }
            c.sent_bytes += static_cast<std::size_t>(n);
        }
        // Reads stay on while a large request is half sent: the server may be
        // blocked writing its echo back to us.
        const bool short_send = c.sent_bytes < size_;
        if (short_send != c.watching_writes) {
            epoll_modify(epoll_.get(), c.fd.get(), short_send ? EPOLLIN | EPOLLOUT : EPOLLIN, &c);
            c.watching_writes = short_send;
        }
    }

    // True when this read completed a round trip (and started the next).
    bool receive(connection& c) {
        const ssize_t n = ::recv(c.fd.get(), c.got.data() + c.got_bytes, size_ - c.got_bytes, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
            throw_errno("recv (client connection " + std::to_string(c.index) + ")");
        }
        if (n == 0)
            throw std::runtime_error("client connection " + std::to_string(c.index) +
                                     ": the server closed it");
        c.got_bytes += static_cast<std::size_t>(n);
        if (c.got_bytes < size_) return false;
        if (std::memcmp(c.sent.data(), c.got.data(), size_) != 0) {
            const auto diff = std::mismatch(c.sent.begin(), c.sent.end(), c.got.begin());
            throw std::runtime_error("client connection " + std::to_string(c.index) + ", round trip " +
                                     std::to_string(c.round) + ": echoed byte " +
                                     std::to_string(diff.first - c.sent.begin()) + " is " +
                                     std::to_string(*diff.second) + ", sent " + std::to_string(*diff.first));
        }
        ++c.round;
        start_request(c);
        return true;
    }

    const std::size_t size_;
    const double seconds_;
    unique_fd epoll_;
    std::vector<connection> conns_;  // never resized after the constructor: epoll holds pointers
};

// ---------------------------------------------------------------------------
struct server_kind {
    const char* name;
    unsigned workers;
    const char* backend;
};

const server_kind k_servers[] = {
    {"plain epoll", 1, "epoll"}, {"weft", 1, "io_uring"}, {"weft", 1, "epoll"},
    {"weft", 2, "io_uring"},     {"weft", 2, "epoll"},
};

bool is_plain(const server_kind& k) { return std::strcmp(k.name, "plain epoll") == 0; }

// Issue 4's targets for this benchmark, with this run's ratios and a verdict
// each: weft at 1 worker on epoll at least as fast as the plain loop (no
// scheduler tax), and io_uring at least as fast as epoll (weft, 1 worker).
void print_targets(const std::vector<const server_kind*>& servers, const std::vector<double>& vs_plain) {
    const auto ratio_of = [&](const char* backend) -> std::optional<double> {
        for (std::size_t s = 0; s < servers.size(); ++s)
            if (!is_plain(*servers[s]) && servers[s]->workers == 1 && std::strcmp(servers[s]->backend, backend) == 0)
                return vs_plain[s];
        return std::nullopt;
    };
    const auto verdict = [](bool met) { return met ? "met" : "not met"; };
    std::printf("\nIssue 4's targets in this run:\n");
    const std::optional<double> epoll = ratio_of("epoll");
    const std::optional<double> uring = ratio_of("io_uring");
    if (epoll)
        std::printf("  - weft at 1 worker on epoll at least 1.00× the plain epoll loop: %.2f — %s.\n", *epoll,
                    verdict(*epoll >= 1.0));
    if (epoll && uring)
        std::printf("  - io_uring at least as fast as epoll (weft, 1 worker): %.2f against %.2f — %s.\n", *uring,
                    *epoll, verdict(*uring >= *epoll));
    else
        std::printf("  - io_uring at least as fast as epoll: not measured (no io_uring here).\n");
}

// Starts the server, drives it with a fresh client, stops it.
echo_client::result measure_once(const server_kind& k, const options& opt) {
    if (is_plain(k)) {
        plain_epoll_server server;
        echo_client client(server.port(), opt);  // closes its sockets before the server stops
        return client.run();
    }
    // The other knobs come from WEFT_* variables (config::from_env), so a run can
    // try, say, WEFT_SPIN_ROUNDS=0; the row's worker count and backend win.
    weft::config cfg = weft::config::from_env();
    cfg.workers = k.workers;
    cfg.io_backend = k.backend;
    weft_server server(cfg);
    echo_client client(server.port(), opt);
    return client.run();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// The kernel refuses io_uring in some containers (EPERM) and old kernels (ENOSYS)
// (io_error); weft refuses it under valgrind (config_error, docs/io.md).
std::optional<std::string> io_uring_refusal() {
    try {
        weft::runtime probe(weft::config{.workers = 1, .io_backend = "io_uring"});
        return std::nullopt;
    } catch (const weft::io_error& e) {
        return std::string(e.what());
    } catch (const weft::config_error& e) {
        return std::string(e.what());
    }
}

// Sockets: the client's and the server's end of each connection, plus a few.
void raise_fd_limit(int connections) {
    const rlim_t need = 2 * static_cast<rlim_t>(connections) + 64;
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0) throw_errno("getrlimit(RLIMIT_NOFILE)");
    if (r.rlim_cur >= need) return;
    if (r.rlim_max != RLIM_INFINITY && r.rlim_max < need)
        throw std::runtime_error("--connections " + std::to_string(connections) + " needs " + std::to_string(need) +
                                 " file descriptors; RLIMIT_NOFILE allows " + std::to_string(r.rlim_max));
    r.rlim_cur = need;
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0) throw_errno("setrlimit(RLIMIT_NOFILE)");
}

constexpr const char* k_usage =
    "usage: weft-echo-bench [--connections N] [--size BYTES] [--seconds S] [--runs K]\n"
    "  --connections N  client connections, each in strict request/response (1..10000, default 50)\n"
    "  --size BYTES     bytes per request and per reply (1..16777216, default 64)\n"
    "  --seconds S      measured seconds per server and run, after a 0.3 s warm-up (0.1..3600, default 2)\n"
    "  --runs K         runs per server; the table shows the median (1..100, default 3)\n"
    "weft's servers take every other setting from WEFT_* variables (docs/config.md), e.g.\n"
    "WEFT_SPIN_ROUNDS; each row sets its own worker count and I/O backend.\n"
    "Exit status: 0 done, 1 a server or the client failed (or an echo differed), 2 bad arguments.\n";

int bad_argument(const std::string& why) {
    std::fprintf(stderr, "weft-echo-bench: %s (see --help)\n", why.c_str());
    return 2;
}

bool parse_integer(const char* text, long long lo, long long hi, long long& out) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) return false;
    out = v;
    return true;
}

bool parse_seconds(const char* text, double& out) {
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= 0.1 && v <= 3600)) return false;
    out = v;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(k_usage, stdout);
            return 0;
        }
        const bool known = flag == "--connections" || flag == "--size" || flag == "--seconds" || flag == "--runs";
        if (!known) return bad_argument("unknown argument \"" + flag + "\"");
        if (i + 1 >= argc) return bad_argument(flag + ": missing value");
        const char* value = argv[++i];
        long long v = 0;
        if (flag == "--connections") {
            if (!parse_integer(value, 1, 10000, v))
                return bad_argument(flag + " \"" + value + "\": expected an integer in 1..10000");
            opt.connections = static_cast<int>(v);
        } else if (flag == "--size") {
            if (!parse_integer(value, 1, 16 * 1024 * 1024, v))
                return bad_argument(flag + " \"" + value + "\": expected an integer in 1..16777216");
            opt.size = static_cast<std::size_t>(v);
        } else if (flag == "--seconds") {
            if (!parse_seconds(value, opt.seconds))
                return bad_argument(flag + " \"" + value + "\": expected a number of seconds in 0.1..3600");
        } else {
            if (!parse_integer(value, 1, 100, v))
                return bad_argument(flag + " \"" + value + "\": expected an integer in 1..100");
            opt.runs = static_cast<int>(v);
        }
    }

    try {
        raise_fd_limit(opt.connections);
        const std::optional<std::string> no_uring = io_uring_refusal();
        if (no_uring)
            std::printf("io_uring is unavailable (%s): its rows are skipped\n", no_uring->c_str());

        std::vector<const server_kind*> servers;
        for (const server_kind& k : k_servers)
            if (!(no_uring && std::strcmp(k.backend, "io_uring") == 0)) servers.push_back(&k);

        std::printf("weft TCP echo: %d connections, %zu-byte messages, median of %d run%s of %.1f s "
                    "(after %.1f s warm-up), 127.0.0.1\n\n",
                    opt.connections, opt.size, opt.runs, opt.runs == 1 ? "" : "s", opt.seconds, k_warmup_seconds);
        std::fflush(stdout);

        // Runs interleave the servers, so a slow phase of the machine hits them all.
        std::vector<std::vector<double>> rates(servers.size());
        std::vector<std::vector<double>> cpu(servers.size());
        // Each run starts one server further along, so no server always runs
        // first (or right after a given other one).
        for (int run = 1; run <= opt.runs; ++run) {
            for (std::size_t i = 0; i < servers.size(); ++i) {
                const std::size_t s = (i + static_cast<std::size_t>(run - 1)) % servers.size();
                const server_kind& k = *servers[s];
                std::fprintf(stderr, "run %d/%d: %-11s %u worker%s %-8s ... ", run, opt.runs, k.name, k.workers,
                             k.workers == 1 ? " " : "s", k.backend);
                std::fflush(stderr);
                const echo_client::result r = measure_once(k, opt);
                rates[s].push_back(r.per_second());
                cpu[s].push_back(r.server_cpu_us_per_request());
                std::fprintf(stderr, "%.0f requests/s, server CPU %.2f us/request\n", rates[s].back(),
                             cpu[s].back());
            }
        }

        // servers[0] is the plain loop. The ratio is taken run by run, each server
        // against the plain loop's run of the same round (seconds apart), then
        // the median: the machine's speed drifts by more than the differences
        // measured here, and pairing cancels the drift the medians keep.
        std::printf("%-12s %7s  %-8s %12s  %14s  %18s\n", "server", "workers", "backend", "requests/s",
                    "vs plain epoll", "server CPU us/req");
        std::vector<double> vs_plain(servers.size());
        for (std::size_t s = 0; s < servers.size(); ++s) {
            std::vector<double> ratios;
            for (std::size_t run = 0; run < rates[s].size(); ++run) ratios.push_back(rates[s][run] / rates[0][run]);
            vs_plain[s] = median(ratios);
            std::printf("%-12s %7u  %-8s %12.0f  %14.2f  %18.2f\n", servers[s]->name, servers[s]->workers,
                        servers[s]->backend, median(rates[s]), vs_plain[s], median(cpu[s]));
        }
        const unsigned hw = std::thread::hardware_concurrency();
        std::printf("\nrequests/s: median over the runs.\n"
                    "vs plain epoll: the median, over the runs, of requests/s over the plain epoll loop's in the "
                    "same round (above 1.00: faster).\n"
                    "server CPU: CPU time of every thread but the client's (kernel included) per request, "
                    "median.\n"
                    "This machine has %u hardware threads and the client's thread keeps one of them busy",
                    hw);
        if (hw < 3)
            std::printf(": the servers get the rest, and weft at 2 workers shares cores with the client.\n");
        else
            std::printf(".\n");
        print_targets(servers, vs_plain);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nweft-echo-bench: %s\n", e.what());
        return 1;
    }
}
