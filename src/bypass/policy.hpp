// Purpose: the socket bypass's pure decisions (no syscalls): reading the address a caller gave
// connect(), the fixed ranges never bypassed, the rtnetlink route query and its reply, and the
// verdict "connect from the host" or "let the kernel carry on" (see supervisor.hpp).
#pragma once

#include "sys/sockaddr.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace rk::bypass {

// Addresses and the caller's connect() sockaddr: sys/sockaddr (shared with the builtin port
// driver's dialer). A Destination is where a caller wants to connect.
using Address = sys::IpAddress;
using Destination = sys::Endpoint;
using sys::parse_sockaddr;
using sys::to_sockaddr;

// For unordered containers keyed by an address (route answers, evidence).
struct AddressHash {
    size_t operator()(const Address& a) const {
        uint64_t x, y;
        std::memcpy(&x, a.bytes.data(), 8);
        std::memcpy(&y, a.bytes.data() + 8, 8);
        return std::hash<uint64_t>()(x * 0x9e3779b97f4a7c15ULL ^ (y << 1) ^
                                     static_cast<uint64_t>(a.family));
    }
};

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
// The reply to route_request: an RTM_NEWROUTE or an NLMSG_ERROR with `seq`, addressed to our
// socket's port id `portid` (a change notification carries the sequence number and port id of
// whoever made the change, which may equal ours by chance); nullopt for anything else
// (truncated, another sequence number or port, no route message).
std::optional<Route> parse_route_reply(std::span<const uint8_t> bytes, uint32_t seq,
                                       uint32_t portid);

// A destination is outside a namespace when that namespace reaches it through a gateway
// (a unicast route with a next hop): not local, not on a directly connected subnet, and not
// without a route.
bool outside(const Route& r);

} // namespace rk::bypass
