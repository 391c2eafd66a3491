// The Redis protocol (RESP2) for examples/resp_server: parsing client requests
// (multibulk arrays and inline commands) and encoding replies. No I/O here, so the
// parser can be unit-tested and fuzzed on its own (tests/resp_protocol_test.cpp,
// tests/fuzz/resp_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace resp {

struct limits {
    // Longest bulk string a client may send (Redis's proto-max-bulk-len).
    std::size_t max_bulk = std::size_t{512} * 1024 * 1024;
    // Most arguments in one multibulk request.
    std::size_t max_args = 1024 * 1024;
    // Longest inline command line (Redis: 64 KiB).
    std::size_t max_inline = 64 * 1024;
};

enum class parse_status {
    complete,    // one command parsed; `consumed` bytes of the input were used
    incomplete,  // the input holds the start of a command only: read more
    empty,       // an empty inline line (or a multibulk of 0 arguments): skip `consumed` bytes
    error,       // malformed: reply with `error` and close the connection
};

struct parse_result {
    parse_status status = parse_status::incomplete;
    std::size_t consumed = 0;
    std::string error;  // "Protocol error: ..." (without the leading "-ERR ")
};

// One parsed command. For multibulk requests the arguments point into the input
// buffer (valid until it changes); inline arguments are unescaped into `owned`.
struct command {
    std::vector<std::string_view> args;
    std::vector<std::string> owned;
    void clear() {
        args.clear();
        owned.clear();
    }
};

// Parses the first command at the front of `in`. Checks every length against
// `lim` before trusting it, so an oversized request is refused before anything
// is allocated for it.
parse_result parse_command(std::string_view in, command& out, const limits& lim = {});

// Reply encoders: append one RESP2 value to `out`.
void put_simple(std::string& out, std::string_view s);  // +OK
void put_error(std::string& out, std::string_view s);   // -ERR ...
void put_integer(std::string& out, std::int64_t v);     // :42
void put_bulk(std::string& out, std::string_view s);    // $3\r\nfoo
void put_null(std::string& out);                        // $-1
void put_array_header(std::string& out, std::size_t n); // *n

}  // namespace resp
