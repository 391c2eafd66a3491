// Tutorial §6, best practice 4: "use async generators when handling large
// asynchronous datasets". Lines arriving on a socket are consumed lazily through
// an async generator: each is handed on as soon as it is complete, and reading
// pauses while the consumer works. Server and client are both in this program, on
// 127.0.0.1.
//
//     async def read_lines(reader):
//         while line := await reader.readline():
//             yield line.decode().rstrip("\n")
//
//     async for line in read_lines(reader):
//         print(f"received: {line}")
#include <weft/weft.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

weft::async_generator<std::string> read_lines(weft::net::tcp_stream& s) {
    std::string pending;
    std::array<std::byte, 4096> buf;
    for (;;) {
        const std::size_t n = co_await s.read(buf);
        if (n == 0) break;  // end of stream
        pending.append(reinterpret_cast<const char*>(buf.data()), n);
        for (std::size_t pos; (pos = pending.find('\n')) != std::string::npos; pending.erase(0, pos + 1))
            co_yield pending.substr(0, pos);
    }
    if (!pending.empty()) co_yield pending;  // a last line without its newline
}

weft::task<> send_lines(std::uint16_t port) {
    auto s = co_await weft::net::tcp_stream::connect("127.0.0.1", port);
    for (int i = 0; i < 5; ++i) {
        co_await s.write_all("line " + std::to_string(i) + "\n");
        co_await weft::sleep_for(10ms);  // the lines trickle in
    }
    s.shutdown_write();
}

weft::task<> main_task() {
    auto listener = weft::net::tcp_listener::bind("127.0.0.1", 0);
    auto client = weft::spawn(send_lines(listener.local_port()));
    auto conn = co_await listener.accept();
    auto lines = read_lines(conn);
    while (std::optional<std::string> line = co_await lines.next()) std::printf("received: %s\n", line->c_str());
    co_await client;
}

int main() { weft::run(main_task()); }
