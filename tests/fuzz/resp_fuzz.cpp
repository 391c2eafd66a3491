// libFuzzer target for the RESP2 request parser (examples/resp_server): any input
// must parse, ask for more, or fail with a protocol error; never crash, read out
// of bounds or loop. Checks the parser's own promises on every input:
// `consumed` stays within the input, a complete command's arguments lie inside
// it, and parsing the consumed prefix again gives the same command.
#include "../../examples/resp_server/resp_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const resp::limits lim{.max_bulk = 1 << 20, .max_args = 1 << 16, .max_inline = 1 << 16};
    resp::command c;
    std::size_t pos = 0;
    for (int commands = 0; commands < 10000 && pos < in.size(); ++commands) {
        const std::string_view rest = in.substr(pos);
        const resp::parse_result r = resp::parse_command(rest, c, lim);
        if (r.status == resp::parse_status::incomplete || r.status == resp::parse_status::error) break;
        if (r.consumed == 0 || r.consumed > rest.size()) std::abort();  // no progress, or past the end
        if (r.status == resp::parse_status::complete) {
            if (c.args.empty()) std::abort();
            const std::size_t n = c.args.size();
            resp::command again;
            const resp::parse_result r2 = resp::parse_command(rest.substr(0, r.consumed), again, lim);
            if (r2.status != resp::parse_status::complete || r2.consumed != r.consumed || again.args.size() != n)
                std::abort();
            for (std::size_t i = 0; i < n; ++i)
                if (again.args[i] != c.args[i]) std::abort();
        }
        pos += r.consumed;
    }
    return 0;
}
