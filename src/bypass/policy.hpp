// Purpose: the socket bypass's pure decisions (no syscalls): reading the address a caller gave
// connect(), the fixed ranges never bypassed, the rtnetlink route query and its reply, and the
// verdict "connect from the host" or "let the kernel carry on" (see supervisor.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace rk::bypass {

// An IPv4 or IPv6 address (IPv4 in the first 4 bytes).
struct Address {
    int family = 0; // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};
    bool operator==(const Address&) const = default;
};

// Where a caller wants to connect: `socket_family` is the sockaddr's family (what our socket
// must be), `addr` the address that decides (an IPv4-mapped IPv6 address counts as IPv4, as
// the kernel routes it).
struct Destination {
    int socket_family = 0;
    Address addr;
    uint16_t port = 0; // host byte order
    uint32_t flowinfo = 0, scope_id = 0;
};

// The sockaddr bytes a caller passed to connect(): AF_INET (at least sizeof(sockaddr_in)) or
// AF_INET6 (at least sizeof(sockaddr_in6)); nullopt for every other family, a short buffer,
// or AF_UNSPEC (a disconnect request).
std::optional<Destination> parse_sockaddr(std::span<const uint8_t> bytes);

// The sockaddr for `d` (the inverse of parse_sockaddr: an IPv4 address on an AF_INET6 socket
// comes out IPv4-mapped); its length. An all-zero address is the unspecified one (for bind).
socklen_t to_sockaddr(const Destination& d, sockaddr_storage& out);

struct Prefix {
    Address addr;
    int len = 0;
    bool contains(const Address& a) const;
};

// "10.0.2.0/24", "fd00::/64"; nullopt if malformed.
std::optional<Prefix> parse_prefix(const std::string& text);

// Ranges no connection is bypassed to, whatever the routes say: loopback, unspecified,
// link-local, multicast and broadcast, plus `extra` (the rootlesskit network's CIDRs).
std::vector<Prefix> never_ranges(const std::vector<Prefix>& extra);

// RTM_GETROUTE for `dst` (a full-length prefix), sequence number `seq`.
std::vector<uint8_t> route_request(const Address& dst, uint32_t seq);

// What a route lookup said. `error` is the kernel's errno (ENETUNREACH: no route) or 0.
struct Route {
    int error = 0;
    unsigned type = 0;    // RTN_UNICAST, RTN_LOCAL, RTN_UNREACHABLE, ...
    bool gateway = false; // via a gateway (RTA_GATEWAY, RTA_VIA or a multipath route)
};
// The reply to route_request: an RTM_NEWROUTE or an NLMSG_ERROR with `seq`; nullopt for
// anything else (truncated, another sequence number, no route message).
std::optional<Route> parse_route_reply(std::span<const uint8_t> bytes, uint32_t seq);

// A destination is outside a namespace when that namespace reaches it through a gateway
// (a unicast route with a next hop): not local, not on a directly connected subnet, and not
// without a route.
bool outside(const Route& r);

} // namespace rk::bypass
