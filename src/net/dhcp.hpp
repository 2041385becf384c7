// Purpose: a small DHCPv4 client (RFC 2131/2132) for --net=lxc-user-nic, whose bridge hands
// out addresses by DHCP: messages built and parsed here (pure, fuzzed), and the
// DISCOVER/OFFER/REQUEST/ACK exchange over a UDP socket bound to the interface.
#pragma once

#include "util/error.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rk::net::dhcp {

enum class MsgType : uint8_t {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7
};

using Mac = std::array<uint8_t, 6>;

// What a client sends. `requested` and `server` are IPv4 addresses in network byte order
// (0: absent); `ciaddr` is set when renewing.
struct ClientMessage {
    MsgType type = MsgType::Discover;
    uint32_t xid = 0;
    Mac mac{};
    uint32_t ciaddr = 0;
    uint32_t requested = 0;
    uint32_t server = 0;
};
std::vector<uint8_t> build(const ClientMessage& m);

// A server's reply, as far as we use it. Addresses in network byte order.
struct Reply {
    MsgType type{};
    uint32_t xid = 0;
    Mac mac{};
    uint32_t yiaddr = 0;
    uint32_t server = 0;      // option 54
    uint32_t subnet_mask = 0; // option 1
    std::vector<uint32_t> routers;
    std::vector<uint32_t> dns;
    uint32_t lease_seconds = 0; // option 51; 0 if absent
};
// Parses a BOOTREPLY; an error names what is wrong with it.
util::Result<Reply> parse(std::span<const uint8_t> packet);

// A lease as configured: dotted addresses, prefix length from the mask.
struct Lease {
    std::string address;
    int prefix = 0;
    std::string router;
    std::vector<std::string> dns;
    std::chrono::seconds duration{0};
    std::string server;
};
// An ACK turned into a lease: needs a non-zero yiaddr, a router and a DNS server (as upstream);
// the first router and the DNS list are used; a missing lease time counts as 1 h.
util::Result<Lease> lease_from_ack(const Reply& ack);

// The exchange on `ifname` (up, no address yet) in the caller's network namespace: DISCOVER
// until an OFFER comes, REQUEST it, wait for the ACK; `timeout` bounds the whole exchange.
util::Result<Lease> acquire(const std::string& ifname, std::chrono::seconds timeout);
// Renews `lease` (REQUEST with ciaddr); the ACK's lease.
util::Result<Lease> renew(const std::string& ifname, const Lease& lease,
                          std::chrono::seconds timeout);

} // namespace rk::net::dhcp
