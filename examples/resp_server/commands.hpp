// The commands of examples/resp_server: each parsed request is executed against
// the store and its reply appended to the connection's output, with Redis's
// replies and error texts (unknown command, wrong arity, syntax, not an integer).
#pragma once

#include "resp_protocol.hpp"
#include "store.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace resp {

// Server-wide facts INFO reports.
struct server_info {
    unsigned workers = 1;
    std::uint16_t port = 0;
    millis started_ms = now_ms();
    std::atomic<std::uint64_t> connections_total{0};
    std::atomic<std::uint64_t> connections_now{0};
    std::atomic<std::uint64_t> commands{0};
    std::atomic<std::uint64_t> expired_swept{0};
};

// What a connection remembers between commands.
struct client_state {
    std::string name;
    bool quit = false;  // QUIT: reply, then close
};

// Appends the reply to `cmd` (non-empty args) to `out`.
void execute(store& db, server_info& info, client_state& client, const command& cmd, std::string& out);

}  // namespace resp
