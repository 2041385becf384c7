// Purpose: the DHCPv4 client's messages (RFC 2131 layout) and reply parsing, and the
// lxc-user-nic command line.
#include "net/dhcp.hpp"
#include "net/lxc_user_nic.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

namespace rk::net::dhcp {
namespace {

uint32_t ip(const char* s) {
    in_addr a{};
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

const Mac kMac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

// A server's reply as a test builds it: the fixed part, the cookie, then `options`.
std::vector<uint8_t> reply(uint32_t xid, uint32_t yiaddr, const std::vector<uint8_t>& options) {
    std::vector<uint8_t> p(240 + options.size(), 0);
    p[0] = 2;
    p[1] = 1;
    p[2] = 6;
    p[4] = static_cast<uint8_t>(xid >> 24);
    p[5] = static_cast<uint8_t>(xid >> 16);
    p[6] = static_cast<uint8_t>(xid >> 8);
    p[7] = static_cast<uint8_t>(xid);
    std::memcpy(&p[16], &yiaddr, 4);
    std::memcpy(&p[28], kMac.data(), 6);
    const uint8_t cookie[4] = {99, 130, 83, 99};
    std::copy(std::begin(cookie), std::end(cookie), p.begin() + 236);
    std::copy(options.begin(), options.end(), p.begin() + 240);
    return p;
}

TEST(Dhcp, DiscoverLayout) {
    auto p = build({MsgType::Discover, 0x01020304, kMac, 0, 0, 0});
    ASSERT_EQ(p.size(), 300u); // padded to BOOTP's minimum
    EXPECT_EQ(p[0], 1);        // BOOTREQUEST
    EXPECT_EQ(p[1], 1);        // Ethernet
    EXPECT_EQ(p[2], 6);
    EXPECT_EQ(p[4], 1);
    EXPECT_EQ(p[7], 4);
    EXPECT_EQ(p[10], 0x80); // broadcast replies: we have no address yet
    EXPECT_EQ(0, std::memcmp(&p[28], kMac.data(), 6));
    EXPECT_EQ(0, std::memcmp(&p[236], "\x63\x82\x53\x63", 4));
    EXPECT_EQ(p[240], 53); // message type DISCOVER
    EXPECT_EQ(p[241], 1);
    EXPECT_EQ(p[242], 1);
    EXPECT_EQ(p[243], 55); // parameter list: mask, router, DNS, lease time
    EXPECT_EQ(p[244], 4);
    EXPECT_EQ((std::vector<uint8_t>(p.begin() + 245, p.begin() + 249)),
              (std::vector<uint8_t>{1, 3, 6, 51}));
    EXPECT_EQ(p[249], 255);
}

TEST(Dhcp, RequestCarriesRequestedIpAndServer) {
    auto p = build({MsgType::Request, 7, kMac, 0, ip("10.0.3.50"), ip("10.0.3.1")});
    EXPECT_EQ(p[242], 3);
    EXPECT_EQ((std::vector<uint8_t>(p.begin() + 243, p.begin() + 249)),
              (std::vector<uint8_t>{50, 4, 10, 0, 3, 50}));
    EXPECT_EQ((std::vector<uint8_t>(p.begin() + 249, p.begin() + 255)),
              (std::vector<uint8_t>{54, 4, 10, 0, 3, 1}));
    // renewing: ciaddr set, unicast replies
    auto r = build({MsgType::Request, 7, kMac, ip("10.0.3.50"), 0, 0});
    EXPECT_EQ(r[10], 0);
    EXPECT_EQ((std::vector<uint8_t>(r.begin() + 12, r.begin() + 16)),
              (std::vector<uint8_t>{10, 0, 3, 50}));
}

TEST(Dhcp, ParsesAnAckIntoALease) {
    auto p = reply(0xdeadbeef, ip("10.0.3.77"),
                   {0,  53, 1,   5,                              // pad, ACK
                    1,  4,  255, 255, 255,  0,                   // mask
                    3,  8,  10,  0,   3,    1,    10, 0, 3, 254, // two routers
                    6,  8,  10,  0,   3,    1,    1,  1, 1, 1,   // two DNS servers
                    54, 4,  10,  0,   3,    1,                   // server id
                    51, 4,  0,   0,   0x0e, 0x10,                // 3600 s
                    12, 3,  'a', 'b', 'c',                       // ignored
                    255});
    auto r = parse(p);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->type, MsgType::Ack);
    EXPECT_EQ(r->xid, 0xdeadbeefu);
    EXPECT_EQ(r->mac, kMac);
    auto l = lease_from_ack(*r);
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->address, "10.0.3.77");
    EXPECT_EQ(l->prefix, 24);
    EXPECT_EQ(l->router, "10.0.3.1");
    EXPECT_EQ(fmt::format("{}", fmt::join(l->dns, ",")), "10.0.3.1,1.1.1.1");
    EXPECT_EQ(l->duration.count(), 3600);
    EXPECT_EQ(l->server, "10.0.3.1");
}

TEST(Dhcp, LeaseNeedsAddressRouterDnsAndAContiguousMask) {
    auto base = [](std::vector<uint8_t> extra) {
        std::vector<uint8_t> o{53, 1, 5};
        o.insert(o.end(), extra.begin(), extra.end());
        o.push_back(255);
        return o;
    };
    std::vector<uint8_t> mask{1, 4, 255, 255, 0, 0}, router{3, 4, 10, 0, 0, 1},
        dns{6, 4, 10, 0, 0, 1};
    auto with = [&](uint32_t yi, std::vector<std::vector<uint8_t>> parts) {
        std::vector<uint8_t> o;
        for (auto& x : parts)
            o.insert(o.end(), x.begin(), x.end());
        return lease_from_ack(*parse(reply(1, yi, base(o))));
    };
    auto ok = with(ip("10.0.9.9"), {mask, router, dns});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->prefix, 16);
    EXPECT_EQ(ok->duration.count(), 3600); // no lease time: 1 h
    EXPECT_FALSE(with(0, {mask, router, dns}));
    EXPECT_FALSE(with(ip("10.0.9.9"), {mask, dns}));
    EXPECT_FALSE(with(ip("10.0.9.9"), {mask, router}));
    EXPECT_FALSE(with(ip("10.0.9.9"), {router, dns}));
    EXPECT_FALSE(with(ip("10.0.9.9"), {{1, 4, 255, 0, 255, 0}, router, dns}));
    // an OFFER is no ACK
    auto offer = parse(reply(1, ip("10.0.9.9"), {53, 1, 2, 255}));
    ASSERT_TRUE(offer);
    EXPECT_FALSE(lease_from_ack(*offer));
}

TEST(Dhcp, RejectsMalformedReplies) {
    auto bad = [](std::vector<uint8_t> p) { return !parse(p); };
    EXPECT_TRUE(bad({}));
    EXPECT_TRUE(bad(std::vector<uint8_t>(239, 0)));
    auto p = reply(1, 0, {53, 1, 2, 255});
    auto q = p;
    q[0] = 1; // a request, not a reply
    EXPECT_TRUE(bad(q));
    q = p;
    q[236] = 0; // cookie
    EXPECT_TRUE(bad(q));
    EXPECT_TRUE(bad(reply(1, 0, {255})));                          // no message type
    EXPECT_TRUE(bad(reply(1, 0, {53, 1, 9, 255})));                // unknown type
    EXPECT_TRUE(bad(reply(1, 0, {53, 2, 2, 0, 255})));             // type of length 2
    EXPECT_TRUE(bad(reply(1, 0, {53, 1, 2, 3, 9, 1})));            // router overruns
    EXPECT_TRUE(bad(reply(1, 0, {53, 1, 2, 3, 3, 1, 2, 3, 255}))); // router of length 3
    EXPECT_TRUE(bad(reply(1, 0, {53, 1, 2, 51})));                 // option without length
    EXPECT_TRUE(bad(reply(1, 0, {53, 1, 2, 1, 2, 255, 0, 255})));  // mask of length 2
    // options after End are not read
    EXPECT_FALSE(bad(reply(1, 0, {53, 1, 2, 255, 3, 99})));
}

} // namespace
} // namespace rk::net::dhcp

namespace rk::net {
namespace {

TEST(LxcUserNic, CommandLineAsUpstream) {
    EXPECT_EQ(fmt::format("{}", fmt::join(lxc_user_nic_argv(4242, "lxcbr0", "eth0"), " ")),
              "create /dev/null dummy 4242 veth lxcbr0 eth0");
}

} // namespace
} // namespace rk::net
