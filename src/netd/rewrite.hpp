// Purpose: the one address translation the embedded network does itself. Its contract (that
// of upstream's gvisor-tap-vsock driver) puts the gateway and the DNS server at the same
// address (.1), but libslirp sends every connection to its DNS address to the host's
// resolver. So the DNS server lives at libslirp's .3 and frames are rewritten on the way:
// namespace -> .1:53 becomes .3:53, and .3:53 -> namespace becomes .1:53 (UDP and TCP, with
// incremental checksum updates, RFC 1624). Pure functions on Ethernet frames; fuzzed.
#pragma once

#include <cstdint>
#include <span>

namespace rk::netd {

// Addresses in network byte order.
struct DnsAlias {
    uint32_t visible = 0; // .1: where the namespace sends its queries
    uint32_t real = 0;    // .3: libslirp's DNS address
};

// In a frame from the namespace: destination visible:53 -> real:53. Returns whether it changed
// the frame. Frames that are not IPv4 UDP/TCP to that address and port, or are malformed,
// are left alone.
bool rewrite_outbound(std::span<uint8_t> frame, const DnsAlias& a);
// In a frame to the namespace: source real:53 -> visible:53.
bool rewrite_inbound(std::span<uint8_t> frame, const DnsAlias& a);

} // namespace rk::netd
