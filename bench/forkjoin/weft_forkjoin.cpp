// weft-forkjoin BENCH PARAM [WORKERS]: runs one benchmark of the public fork-join
// suite on weft, checks the answer (exit 2 if wrong), and prints the duration of
// the timed run, which follows one warm-up run.
#include "weft_runs.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

namespace {

int usage(const char* why) {
    std::fprintf(stderr,
                 "weft-forkjoin: %s\n"
                 "usage: weft-forkjoin BENCH PARAM [WORKERS]\n"
                 "  BENCH   fib | skynet | nqueens | matmul\n"
                 "  PARAM   fib: n (1..60); skynet: depth (1..9); nqueens: n (1..16);\n"
                 "          matmul: N, a power of two in 32..8192\n"
                 "  WORKERS worker threads (default: WEFT_WORKERS, else hardware threads)\n",
                 why);
    return 1;
}

bool parse_int(const char* s, long& out) {
    const std::string_view v(s);
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && end == v.data() + v.size();
}

// Runs `once` twice (warm-up, then timed); returns the timed run's result.
template <class F>
auto timed(F once, long long& micros) {
    once();
    const auto start = std::chrono::steady_clock::now();
    auto result = once();
    micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) return usage("expected 2 or 3 arguments");
    const std::string_view bench = argv[1];
    long param = 0;
    if (!parse_int(argv[2], param)) return usage((std::string("PARAM \"") + argv[2] + "\" is not an integer").c_str());

    try {
        weft::config cfg = weft::config::from_env();
        if (argc == 4) {
            long workers = 0;
            if (!parse_int(argv[3], workers) || workers < 1 || workers > 1024)
                return usage((std::string("WORKERS \"") + argv[3] + "\": expected an integer in 1..1024").c_str());
            cfg.workers = static_cast<unsigned>(workers);
        }
        weft::runtime rt(cfg);
        long long us = 0;
        bool ok = false;
        std::uint64_t output = 0;

        if (bench == "fib") {
            if (param < 1 || param > 60) return usage("fib: n must be in 1..60");
            const int n = static_cast<int>(param);
            output = timed([&] { return forkjoin::weft_run::fib(rt, n); }, us);
            ok = output == forkjoin::fib_expected(n);
        } else if (bench == "skynet") {
            if (param < 1 || param > 9) return usage("skynet: depth must be in 1..9");
            const int d = static_cast<int>(param);
            output = timed([&] { return forkjoin::weft_run::skynet(rt, d); }, us);
            ok = output == forkjoin::skynet_expected(d);
        } else if (bench == "nqueens") {
            if (param < 1 || param > 16) return usage("nqueens: n must be in 1..16");
            const int n = static_cast<int>(param);
            output = timed([&] { return forkjoin::weft_run::nqueens(rt, n); }, us);
            ok = output == forkjoin::nqueens_expected(n);
        } else if (bench == "matmul") {
            if (param < 32 || param > 8192 || (param & (param - 1)) != 0)
                return usage("matmul: N must be a power of two in 32..8192");
            forkjoin::matrices m(static_cast<int>(param));
            timed([&] {
                m.clear_result();
                forkjoin::weft_run::matmul(rt, m);
                return 0;
            }, us);
            ok = m.spot_check();
            output = static_cast<std::uint64_t>(m.c[0]);
        } else {
            return usage((std::string("unknown BENCH \"") + argv[1] + "\"").c_str());
        }

        std::printf("output: %llu\n", static_cast<unsigned long long>(output));
        std::printf("duration: %lld us\n", us);
        if (!ok) {
            std::fprintf(stderr, "weft-forkjoin: wrong answer for %s %ld\n", argv[1], param);
            return 2;
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "weft-forkjoin: %s\n", e.what());
        return 1;
    }
}
