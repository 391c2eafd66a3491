// A TCP echo server and a tiny client in one program.
//
//     echo_server                 serve on 127.0.0.1:7000 until interrupted
//     echo_server PORT            the same on PORT (0 picks a free port)
//     echo_server --demo          serve on a free port, run the client against it, exit
//
// Each connection is a task; every read and write suspends only that task, and
// idle connections cost a suspended frame, not a thread.
#include <weft/weft.hpp>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace net = weft::net;

weft::task<> echo(net::tcp_stream conn) {
    std::byte buf[16 * 1024];
    for (;;) {
        const std::size_t n = co_await conn.read(buf);
        if (n == 0) co_return;  // the client closed its side
        co_await conn.write_all(std::span<const std::byte>(buf, n));
    }
}

weft::task<> serve(net::tcp_listener& listener, int max_connections) {
    for (int served = 0; max_connections < 0 || served < max_connections; ++served) {
        net::tcp_stream conn = co_await listener.accept();
        conn.set_nodelay();
        weft::spawn(echo(std::move(conn))).detach();  // runs on; the runtime owns it
    }
}

// The tiny client: sends each line, reads the echo back, prints it.
weft::task<> client(std::uint16_t port) {
    net::tcp_stream s = co_await net::tcp_stream::connect("127.0.0.1", port);
    for (std::string_view line : {"hello", "from", "weft"}) {
        co_await s.write_all(line);
        std::string back(line.size(), '\0');
        std::size_t got = 0;
        while (got < back.size())
            got += co_await s.read(std::as_writable_bytes(std::span(back.data() + got, back.size() - got)));
        std::printf("echoed: %s\n", back.c_str());
    }
}

weft::task<> demo() {
    net::tcp_listener listener = net::tcp_listener::bind("127.0.0.1", 0);
    weft::join_handle<> server = weft::spawn(serve(listener, 1));
    co_await client(listener.local_port());
    co_await server;
}

int main(int argc, char** argv) {
    try {
        if (argc > 1 && std::strcmp(argv[1], "--demo") == 0) {
            weft::run(demo());
            return 0;
        }
        unsigned port = 7000;
        if (argc > 1) {
            const std::string_view arg = argv[1];
            auto [end, err] = std::from_chars(arg.data(), arg.data() + arg.size(), port);
            if (err != std::errc{} || end != arg.data() + arg.size() || port > 65535) {
                std::fprintf(stderr, "echo_server: PORT=\"%s\": expected an integer in 0..65535\n", argv[1]);
                return 2;
            }
        }
        net::tcp_listener listener = net::tcp_listener::bind("127.0.0.1", static_cast<std::uint16_t>(port));
        std::printf("echo server on 127.0.0.1:%u\n", listener.local_port());
        std::fflush(stdout);
        weft::run(serve(listener, -1));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_server: %s\n", e.what());
        return 1;
    }
}
