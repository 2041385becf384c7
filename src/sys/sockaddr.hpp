// Purpose: socket addresses of the two IP families in one place - the bytes a caller passes to
// connect() parsed into an Endpoint, an Endpoint built back into a sockaddr (the round trip the
// socket bypass and the builtin port driver's dialer both need), addresses from text, and the
// loopback test.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <sys/socket.h>

namespace rk::sys {

// An IPv4 or IPv6 address (IPv4 in the first 4 bytes).
struct IpAddress {
    int family = 0; // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};
    bool operator==(const IpAddress&) const = default;
    size_t size() const { return family == AF_INET ? 4 : 16; }
};

// An address and port: `socket_family` is the sockaddr's family (what a socket for it must
// be), `addr` the address it names (an IPv4-mapped IPv6 address counts as IPv4, as the kernel
// routes it).
struct Endpoint {
    int socket_family = 0;
    IpAddress addr;
    uint16_t port = 0; // host byte order
    uint32_t flowinfo = 0, scope_id = 0;
};

// The sockaddr bytes given to connect(), bind() or returned by accept(): AF_INET (at least
// sizeof(sockaddr_in)) or AF_INET6 (at least sizeof(sockaddr_in6)); nullopt for every other
// family, a short buffer, or AF_UNSPEC.
std::optional<Endpoint> parse_sockaddr(std::span<const uint8_t> bytes);
inline std::optional<Endpoint> parse_sockaddr(const sockaddr_storage& ss) {
    return parse_sockaddr({reinterpret_cast<const uint8_t*>(&ss), sizeof ss});
}

// The sockaddr for `e` (the inverse of parse_sockaddr: an IPv4 address with socket_family
// AF_INET6 comes out IPv4-mapped); its length. An all-zero address is the unspecified one.
socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& out);

// An endpoint from its parts: `family` both the socket's and the address's, `addr` 4 or 16
// bytes in network order.
Endpoint endpoint(int family, const uint8_t* addr, uint16_t port);

// A numeric IPv4 or IPv6 address; nullopt if `text` is neither.
std::optional<IpAddress> parse_ip(const std::string& text);

// 127.0.0.0/8, ::1 (IPv4-mapped loopback is IPv4 here already).
bool is_loopback(const IpAddress& a);

} // namespace rk::sys
