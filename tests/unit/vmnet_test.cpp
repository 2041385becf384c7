// Purpose: vpnkit's vmnet wire format (spec 6.5) and the DHCP frames carried over it.
#include "net/vmnet.hpp"
#include "net/vpnkit.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

namespace rk::net::vmnet {
namespace {

const dhcp::Mac kMac{0x02, 0x50, 0x00, 0x00, 0x00, 0x01};

TEST(Vmnet, HelloIs49BytesWithMagicAndVersion22) {
    auto h = hello();
    ASSERT_EQ(h.size(), 49u);
    EXPECT_EQ(std::string(h.begin(), h.begin() + 5), "VMN3T");
    EXPECT_EQ((std::vector<uint8_t>(h.begin() + 5, h.begin() + 9)),
              (std::vector<uint8_t>{22, 0, 0, 0}));
    auto v = parse_hello(h);
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, 22u);
    h[0] = 'X';
    EXPECT_FALSE(parse_hello(h));
    h.pop_back();
    EXPECT_FALSE(parse_hello(h));
}

TEST(Vmnet, InterfaceRequestLayout) {
    std::string uuid = "0b3b8d6e-7b44-4f1c-9e0a-2f6c1d7e9a10";
    auto r = interface_request(uuid);
    ASSERT_EQ(r.size(), 41u);
    EXPECT_EQ(r[0], 1);
    EXPECT_EQ(std::string(r.begin() + 1, r.begin() + 37), uuid);
    EXPECT_EQ((std::vector<uint8_t>(r.begin() + 37, r.end())), (std::vector<uint8_t>{0, 0, 0, 0}));
}

TEST(Vmnet, InterfaceResponse) {
    std::vector<uint8_t> b(256, 0);
    b[0] = 1;
    b[1] = 0xdc; // 1500
    b[2] = 0x05;
    b[3] = 0xf6; // 1526
    b[4] = 0x05;
    std::copy(kMac.begin(), kMac.end(), b.begin() + 5);
    auto i = parse_interface_response(b);
    ASSERT_TRUE(i) << i.error().message();
    EXPECT_EQ(i->mtu, 1500);
    EXPECT_EQ(i->max_packet_size, 1526);
    EXPECT_EQ(i->mac, kMac);
    auto err = b;
    err[0] = 2;
    err[1] = 4;
    std::memcpy(&err[2], "busy", 4);
    auto e = parse_interface_response(err);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("busy"), std::string::npos);
    b.resize(255);
    EXPECT_FALSE(parse_interface_response(b));
}

TEST(Vmnet, UuidIsVersion4Text) {
    auto u = random_uuid();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[8], '-');
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(u, random_uuid());
}

TEST(Vmnet, FramesCarryALittleEndianLength) {
    std::vector<uint8_t> f(300, 7);
    auto e = encode_frame(f);
    ASSERT_EQ(e.size(), 302u);
    EXPECT_EQ(e[0], 0x2c);
    EXPECT_EQ(e[1], 0x01);
}

TEST(Vmnet, DhcpDiscoverFrame) {
    auto f = dhcp_frame({dhcp::MsgType::Discover, 42, kMac, 0, 0, 0});
    ASSERT_EQ(f.size(), 14u + 20 + 8 + 300);
    EXPECT_EQ((std::vector<uint8_t>(f.begin(), f.begin() + 6)), std::vector<uint8_t>(6, 0xff));
    EXPECT_EQ(0, std::memcmp(&f[6], kMac.data(), 6));
    EXPECT_EQ(f[12], 0x08);
    EXPECT_EQ(f[13], 0x00);
    // the IPv4 header sums to 0xffff with its checksum
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += static_cast<uint32_t>(f[14 + i] << 8 | f[15 + i]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    EXPECT_EQ(sum, 0xffffu);
    EXPECT_EQ(f[14 + 9], 17);               // UDP
    EXPECT_EQ(f[34] << 8 | f[35], 68);      // from the client port
    EXPECT_EQ(f[36] << 8 | f[37], 67);      // to the server port
    EXPECT_EQ(f[38] << 8 | f[39], 8 + 300); // UDP length
    EXPECT_EQ(f[42], 1);                    // BOOTREQUEST
}

TEST(Vmnet, ParsesADhcpReplyFrameAndSkipsOthers) {
    // A server's reply: turn our request frame around (ports, op, message type).
    auto f = dhcp_frame({dhcp::MsgType::Discover, 42, kMac, 0, 0, 0});
    std::swap(f[34], f[36]);
    std::swap(f[35], f[37]);
    f[42] = 2;       // BOOTREPLY
    f[42 + 242] = 2; // OFFER
    auto r = parse_dhcp_frame(f);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->type, dhcp::MsgType::Offer);
    EXPECT_EQ(r->xid, 42u);
    EXPECT_EQ(r->mac, kMac);
    auto arp = f;
    arp[13] = 0x06;
    EXPECT_FALSE(parse_dhcp_frame(arp));
    auto tcp = f;
    tcp[14 + 9] = 6;
    EXPECT_FALSE(parse_dhcp_frame(tcp));
    auto to_server = f;
    to_server[37] = 67;
    EXPECT_FALSE(parse_dhcp_frame(to_server));
    auto short_ip = f;
    short_ip[16] = 0;
    short_ip[17] = 10; // total length below the header's
    EXPECT_FALSE(parse_dhcp_frame(short_ip));
    EXPECT_FALSE(parse_dhcp_frame(std::span<const uint8_t>(f.data(), 40)));
}

} // namespace
} // namespace rk::net::vmnet

namespace rk::net {
namespace {

TEST(Vpnkit, CommandLineAsUpstream) {
    EXPECT_EQ(
        fmt::format("{}", fmt::join(vpnkit_argv("/sd/vpnkit-ethernet.sock", 1500, false), " ")),
        "--ethernet /sd/vpnkit-ethernet.sock --mtu 1500");
    EXPECT_EQ(fmt::format("{}", fmt::join(vpnkit_argv("/sd/s", 1500, true), " ")),
              "--ethernet /sd/s --mtu 1500 --host-ip 0.0.0.0");
}

TEST(Vpnkit, LinkRoundTrip) {
    VpnkitLink l{"/sd/vpnkit-ethernet.sock",
                 "0b3b8d6e-7b44-4f1c-9e0a-2f6c1d7e9a10",
                 {0x02, 0x50, 0, 0, 0, 0xab},
                 "192.168.65.3"};
    auto d = VpnkitLink::decode(l.encode());
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->socket, l.socket);
    EXPECT_EQ(d->uuid, l.uuid);
    EXPECT_EQ(d->mac, l.mac);
    EXPECT_EQ(d->child_ip, l.child_ip);
    EXPECT_FALSE(VpnkitLink::decode("x\ny\n"));
}

} // namespace
} // namespace rk::net
