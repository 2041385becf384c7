// Purpose: DNS address rewriting for the embedded network (see rewrite.hpp).
#include "netd/rewrite.hpp"

#include <cstring>

namespace rk::netd {
namespace {

constexpr size_t kEth = 14;
constexpr uint16_t kDnsPort = 53;

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
void put_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// RFC 1624: checksum' = ~(~checksum + ~old + new), over 16-bit words.
uint16_t adjust(uint16_t sum, uint32_t old_addr, uint32_t new_addr) {
    uint32_t s = static_cast<uint16_t>(~sum);
    const auto* o = reinterpret_cast<const uint8_t*>(&old_addr);
    const auto* n = reinterpret_cast<const uint8_t*>(&new_addr);
    for (int i = 0; i < 4; i += 2) {
        s += static_cast<uint16_t>(~be16(o + i));
        s += be16(n + i);
    }
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s);
}

// Rewrites the IPv4 address at `addr_off` (12: source, 16: destination) from `from` to `to`
// when the L4 port at `port_off` (0: source, 2: destination) is 53.
bool rewrite(std::span<uint8_t> f, size_t addr_off, size_t port_off, uint32_t from, uint32_t to) {
    if (f.size() < kEth + 20 || be16(&f[12]) != 0x0800) return false;
    uint8_t* ip = &f[kEth];
    if ((ip[0] >> 4) != 4) return false;
    size_t ihl = size_t{ip[0] & 0x0fu} * 4;
    size_t total = be16(ip + 2);
    if (ihl < 20 || total < ihl || kEth + total > f.size()) return false;
    uint8_t proto = ip[9];
    if (proto != 6 && proto != 17) return false;
    if ((be16(ip + 6) & 0x1fff) != 0) return false; // a later fragment has no L4 header
    uint32_t addr;
    std::memcpy(&addr, ip + addr_off, 4);
    if (addr != from) return false;
    uint8_t* l4 = ip + ihl;
    size_t l4_len = total - ihl;
    size_t csum_off = proto == 6 ? 16 : 6;
    if (l4_len < csum_off + 2 || l4_len < 4) return false;
    if (be16(l4 + port_off) != kDnsPort) return false;
    std::memcpy(ip + addr_off, &to, 4);
    put_be16(ip + 10, adjust(be16(ip + 10), from, to));
    uint16_t l4sum = be16(l4 + csum_off);
    // UDP over IPv4 may carry no checksum (0); the pseudo-header covers the addresses.
    if (!(proto == 17 && l4sum == 0)) {
        uint16_t n = adjust(l4sum, from, to);
        if (proto == 17 && n == 0) n = 0xffff;
        put_be16(l4 + csum_off, n);
    }
    return true;
}

} // namespace

bool rewrite_outbound(std::span<uint8_t> frame, const DnsAlias& a) {
    return rewrite(frame, 16, 2, a.visible, a.real);
}

bool rewrite_inbound(std::span<uint8_t> frame, const DnsAlias& a) {
    return rewrite(frame, 12, 0, a.real, a.visible);
}

} // namespace rk::netd
