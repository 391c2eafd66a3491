// Address parsing and printing for weft::net.
#include "address.hpp"

#include "../printable.hpp"

#include <weft/errors.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace weft::net {

std::string endpoint::to_string() const { return detail::show(host, port); }

namespace detail {

std::string show(const std::string& host, std::uint16_t port) {
    if (host.empty()) return "0.0.0.0:" + std::to_string(port);  // what "" means (parse_address)
    if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

sock_address parse_address(const std::string& host, std::uint16_t port, const char* call) {
    sock_address a;
    // inet_pton reads up to the first NUL: "127.0.0.1\0junk" must not pass as 127.0.0.1.
    if (host.find('\0') != std::string::npos)
        throw io_error(EINVAL, std::string(call) + " \"" + weft::detail::printable(host) + "\" (port " +
                                   std::to_string(port) + "): the address contains a NUL byte");
    std::string h = host;
    // Brackets set off an IPv6 address ("[::1]"); "[127.0.0.1]" is no address.
    const bool bracketed = h.size() >= 2 && h.front() == '[' && h.back() == ']';
    if (bracketed) {
        h = h.substr(1, h.size() - 2);
        if (h.empty()) h = "::";  // "[]": IPv6's every-interface address
    }
    if (h.empty()) h = "0.0.0.0";
    if (h == "localhost" && !bracketed) h = "127.0.0.1";
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    if (!bracketed && inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.length = sizeof(sockaddr_in);
        return a;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.length = sizeof(sockaddr_in6);
        return a;
    }
    throw io_error(EINVAL, std::string(call) + " \"" + host + "\" (port " + std::to_string(port) +
                               "): not a numeric IPv4 or IPv6 address");
}

endpoint to_endpoint(const sock_address& a) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a.family() == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.storage);
        inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        return {text, ntohs(v4->sin_port)};
    }
    if (a.family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
        inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        return {text, ntohs(v6->sin6_port)};
    }
    return {"?", 0};
}

}  // namespace detail

}  // namespace weft::net
