// Purpose: vpnkit's vmnet wire format (see vmnet.hpp).
#include "net/vmnet.hpp"

#include <cstring>
#include <fmt/format.h>
#include <random>

namespace rk::net::vmnet {
using util::fail;
using util::plain_error;

namespace {

constexpr char kMagic[5] = {'V', 'M', 'N', '3', 'T'};

void put_le32(uint8_t* p, uint32_t x) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<uint8_t>(x >> (8 * i));
}
uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint16_t le16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] | p[1] << 8);
}
uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
void put_be16(uint8_t* p, uint16_t x) {
    p[0] = static_cast<uint8_t>(x >> 8);
    p[1] = static_cast<uint8_t>(x);
}

// The Internet checksum of an IPv4 header.
uint16_t ip_checksum(const uint8_t* p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += be16(p + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

} // namespace

std::vector<uint8_t> hello() {
    std::vector<uint8_t> v(kHelloSize, '0'); // the 40-byte commit id: not meaningful for us
    std::memcpy(v.data(), kMagic, sizeof kMagic);
    put_le32(v.data() + 5, kVersion);
    return v;
}

util::Result<uint32_t> parse_hello(std::span<const uint8_t> b) {
    if (b.size() != kHelloSize)
        return fail(
            plain_error(fmt::format("vpnkit hello of {} bytes, want {}", b.size(), kHelloSize)));
    if (std::memcmp(b.data(), kMagic, sizeof kMagic) != 0)
        return fail(plain_error("vpnkit hello lacks the VMN3T magic: not a vpnkit socket?"));
    return le32(b.data() + 5);
}

std::vector<uint8_t> interface_request(const std::string& uuid) {
    // type 1 ("new interface"), the UUID, LE uint32 preferred IP 0 (vpnkit picks)
    std::vector<uint8_t> v(1 + 36 + 4, 0);
    v[0] = 1;
    std::memcpy(v.data() + 1, uuid.data(), std::min<size_t>(uuid.size(), 36));
    return v;
}

util::Result<Interface> parse_interface_response(std::span<const uint8_t> b) {
    if (b.size() != kResponseSize)
        return fail(plain_error(fmt::format("vpnkit interface response of {} bytes, want {}",
                                            b.size(), kResponseSize)));
    if (b[0] != 1) {
        // An error response carries a length-prefixed message.
        std::string msg;
        if (b[0] == 2 && b[1] > 0 && b[1] < kResponseSize - 2)
            msg = ": " + std::string(reinterpret_cast<const char*>(&b[2]), b[1]);
        return fail(
            plain_error(fmt::format("vpnkit refused the interface (type {}){}", b[0], msg)));
    }
    Interface i;
    i.mtu = le16(&b[1]);
    i.max_packet_size = le16(&b[3]);
    std::memcpy(i.mac.data(), &b[5], i.mac.size());
    if (i.mtu == 0) return fail(plain_error("vpnkit announced an MTU of 0"));
    return i;
}

std::string random_uuid() {
    std::random_device rd;
    uint8_t u[16];
    for (auto& x : u)
        x = static_cast<uint8_t>(rd());
    u[6] = (u[6] & 0x0f) | 0x40; // version 4
    u[8] = (u[8] & 0x3f) | 0x80; // RFC 4122 variant
    std::string s;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += fmt::format("{:02x}", u[i]);
    }
    return s;
}

std::vector<uint8_t> encode_frame(std::span<const uint8_t> frame) {
    std::vector<uint8_t> v(2 + frame.size());
    v[0] = static_cast<uint8_t>(frame.size());
    v[1] = static_cast<uint8_t>(frame.size() >> 8);
    std::copy(frame.begin(), frame.end(), v.begin() + 2);
    return v;
}

std::vector<uint8_t> dhcp_frame(const dhcp::ClientMessage& m) {
    auto payload = dhcp::build(m);
    const size_t eth = 14, ip = 20, udp = 8;
    std::vector<uint8_t> f(eth + ip + udp + payload.size(), 0);
    std::memset(&f[0], 0xff, 6); // broadcast
    std::memcpy(&f[6], m.mac.data(), 6);
    put_be16(&f[12], 0x0800);
    uint8_t* h = &f[eth];
    h[0] = 0x45; // IPv4, 20-byte header
    put_be16(h + 2, static_cast<uint16_t>(ip + udp + payload.size()));
    h[8] = 64;                    // TTL
    h[9] = 17;                    // UDP
    std::memset(h + 16, 0xff, 4); // to 255.255.255.255, from 0.0.0.0
    put_be16(h + 10, ip_checksum(h, ip));
    uint8_t* u = h + ip;
    put_be16(u, 68);
    put_be16(u + 2, 67);
    put_be16(u + 4, static_cast<uint16_t>(udp + payload.size())); // checksum 0: none (IPv4)
    std::memcpy(u + udp, payload.data(), payload.size());
    return f;
}

util::Result<dhcp::Reply> parse_dhcp_frame(std::span<const uint8_t> f) {
    if (f.size() < 14 + 20 + 8) return fail(plain_error("frame too short for UDP/IPv4"));
    if (be16(&f[12]) != 0x0800) return fail(plain_error("not IPv4"));
    auto ip = f.subspan(14);
    if ((ip[0] >> 4) != 4) return fail(plain_error("not IPv4"));
    size_t ihl = size_t{ip[0] & 0x0fu} * 4;
    size_t total = be16(&ip[2]);
    if (ihl < 20 || total < ihl + 8 || total > ip.size())
        return fail(plain_error("bad IPv4 lengths"));
    if (ip[9] != 17) return fail(plain_error("not UDP"));
    if ((be16(&ip[6]) & 0x3fff) != 0) return fail(plain_error("IPv4 fragment"));
    auto udp = ip.subspan(ihl, total - ihl);
    if (be16(&udp[2]) != 68) return fail(plain_error("not to the DHCP client port"));
    size_t ulen = be16(&udp[4]);
    if (ulen < 8 || ulen > udp.size()) return fail(plain_error("bad UDP length"));
    return dhcp::parse(udp.subspan(8, ulen - 8));
}

} // namespace rk::net::vmnet
