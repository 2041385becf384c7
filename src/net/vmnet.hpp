// Purpose: the wire format vpnkit speaks on its --ethernet socket ("vmnet", spec 6.5), as pure
// functions: the hello exchange, the interface request and its response, the length-prefixed
// Ethernet frames, and the DHCP frames the parent exchanges over the link to learn the
// namespace's address (UDP/IPv4 in Ethernet around dhcp.hpp's messages).
#pragma once

#include "net/dhcp.hpp"
#include "util/error.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rk::net::vmnet {

constexpr size_t kHelloSize = 49; // "VMN3T", LE uint32 version, 40-byte commit
constexpr uint32_t kVersion = 22;
constexpr size_t kResponseSize = 256; // the interface response, padded
constexpr size_t kMaxFrame = 65535;

std::vector<uint8_t> hello();
// Checks the peer's hello; returns its version.
util::Result<uint32_t> parse_hello(std::span<const uint8_t> b);

// Asks for an interface for `uuid` (36 characters, RFC 4122 text form).
std::vector<uint8_t> interface_request(const std::string& uuid);

struct Interface {
    uint16_t mtu = 0;
    uint16_t max_packet_size = 0;
    dhcp::Mac mac{};
};
util::Result<Interface> parse_interface_response(std::span<const uint8_t> b);

// A random RFC 4122 version 4 UUID in text form.
std::string random_uuid();

// One Ethernet frame with its LE uint16 length prefix.
std::vector<uint8_t> encode_frame(std::span<const uint8_t> frame);

// The DHCP message `m` from `mac` as a broadcast Ethernet/IPv4/UDP frame (0.0.0.0:68 ->
// 255.255.255.255:67).
std::vector<uint8_t> dhcp_frame(const dhcp::ClientMessage& m);
// The DHCP reply inside an Ethernet frame, if it is one (IPv4, UDP to port 68); an error
// otherwise (the caller skips such frames).
util::Result<dhcp::Reply> parse_dhcp_frame(std::span<const uint8_t> frame);

} // namespace rk::net::vmnet
