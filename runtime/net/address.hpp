// Numeric socket addresses: parsing "127.0.0.1" / "::1" / "localhost" and printing
// them back, for weft::net and its error messages.
#pragma once

#include <weft/net.hpp>

#include <sys/socket.h>

#include <string>

namespace weft::net::detail {

struct sock_address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const noexcept { return storage.ss_family; }
    sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Throws io_error(EINVAL) naming `call` and `host` when it is not a numeric IPv4
// or IPv6 address (or "", "localhost").
sock_address parse_address(const std::string& host, std::uint16_t port, const char* call);
endpoint to_endpoint(const sock_address& a);
// "host:port" as the user wrote it, IPv6 in brackets.
std::string show(const std::string& host, std::uint16_t port);

}  // namespace weft::net::detail
