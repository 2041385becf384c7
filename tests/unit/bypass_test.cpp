// Purpose: the socket bypass's pure decisions (bypass/policy): sockaddr parsing, the ranges
// never bypassed, and rtnetlink route replies.
#include "bypass/policy.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

namespace rk::bypass {
namespace {

std::vector<uint8_t> sin(const char* ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    std::vector<uint8_t> v(sizeof a);
    std::memcpy(v.data(), &a, sizeof a);
    return v;
}

std::vector<uint8_t> sin6(const char* ip, uint16_t port) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    std::vector<uint8_t> v(sizeof a);
    std::memcpy(v.data(), &a, sizeof a);
    return v;
}

Address addr(const char* ip) {
    Address a;
    if (inet_pton(AF_INET, ip, a.bytes.data()) == 1) {
        a.family = AF_INET;
    } else {
        a.family = AF_INET6;
        inet_pton(AF_INET6, ip, a.bytes.data());
    }
    return a;
}

TEST(BypassPolicy, ParsesInetSockaddrs) {
    auto d = parse_sockaddr(sin("198.51.100.2", 80));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->socket_family, AF_INET);
    EXPECT_EQ(d->addr, addr("198.51.100.2"));
    EXPECT_EQ(d->port, 80);
    auto m = parse_sockaddr(sin6("::ffff:127.0.0.1", 443)); // decided as IPv4
    ASSERT_TRUE(m);
    EXPECT_EQ(m->socket_family, AF_INET6);
    EXPECT_EQ(m->addr, addr("127.0.0.1"));
    auto v6 = parse_sockaddr(sin6("2001:db8::1", 22));
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->addr, addr("2001:db8::1"));
}

TEST(BypassPolicy, SockaddrRoundTrip) {
    for (auto in : {sin("198.51.100.2", 80), sin6("2001:db8::1", 22), sin6("::ffff:10.1.2.3", 9)}) {
        auto d = parse_sockaddr(in);
        ASSERT_TRUE(d);
        sockaddr_storage out;
        socklen_t len = to_sockaddr(*d, out);
        ASSERT_EQ(len, in.size());
        EXPECT_EQ(std::memcmp(&out, in.data(), len), 0);
    }
}

TEST(BypassPolicy, RejectsShortAndOtherFamilies) {
    auto v = sin("10.0.0.1", 1);
    EXPECT_FALSE(parse_sockaddr({v.data(), v.size() - 1}));
    auto w = sin6("::1", 1);
    EXPECT_FALSE(parse_sockaddr({w.data(), w.size() - 1}));
    uint8_t un[4] = {AF_UNIX, 0, '/', 0};
    EXPECT_FALSE(parse_sockaddr(un));
    uint8_t unspec[16] = {AF_UNSPEC, 0};
    EXPECT_FALSE(parse_sockaddr(unspec));
    EXPECT_FALSE(parse_sockaddr(std::span<const uint8_t>{}));
}

TEST(BypassPolicy, NeverRanges) {
    auto never = never_ranges({*parse_prefix("10.0.2.0/24")});
    auto blocked = [&](const char* ip) {
        for (const auto& p : never)
            if (p.contains(addr(ip))) return true;
        return false;
    };
    for (const char* ip :
         {"127.0.0.1", "127.255.0.9", "0.0.0.0", "10.0.2.2", "10.0.2.255", "169.254.1.1",
          "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "ff02::1"})
        EXPECT_TRUE(blocked(ip)) << ip;
    for (const char* ip : {"10.0.3.1", "198.51.100.2", "8.8.8.8", "2001:db8::1", "::2"})
        EXPECT_FALSE(blocked(ip)) << ip;
}

TEST(BypassPolicy, Prefixes) {
    EXPECT_TRUE(parse_prefix("10.0.2.0/24"));
    EXPECT_TRUE(parse_prefix("fd00::/64"));
    EXPECT_TRUE(parse_prefix("10.0.0.0/9")->contains(addr("10.127.1.1")));
    EXPECT_FALSE(parse_prefix("10.0.0.0/9")->contains(addr("10.128.1.1")));
    for (const char* bad : {"10.0.2.0", "10.0.2.0/33", "fd00::/129", "x/8", "10.0.2.0/", "/8",
                            "10.0.2.0/-1", "10.0.2.0/1234"})
        EXPECT_FALSE(parse_prefix(bad)) << bad;
}

// A reply as the kernel builds it: RTM_NEWROUTE with the given type and attributes.
std::vector<uint8_t> route_reply(uint32_t seq, unsigned char type, bool gateway,
                                 uint32_t portid = 99) {
    std::vector<uint8_t> b(256, 0);
    auto* nh = reinterpret_cast<nlmsghdr*>(b.data());
    nh->nlmsg_type = RTM_NEWROUTE;
    nh->nlmsg_seq = seq;
    nh->nlmsg_pid = portid;
    auto* rt = static_cast<rtmsg*>(NLMSG_DATA(nh));
    rt->rtm_family = AF_INET;
    rt->rtm_type = type;
    size_t len = NLMSG_LENGTH(sizeof(rtmsg));
    auto add = [&](unsigned short t) {
        auto* ra = reinterpret_cast<rtattr*>(b.data() + NLMSG_ALIGN(len));
        ra->rta_type = t;
        ra->rta_len = RTA_LENGTH(4);
        len = NLMSG_ALIGN(len) + RTA_SPACE(4);
    };
    add(RTA_DST);
    if (gateway) add(RTA_GATEWAY);
    add(RTA_OIF);
    nh->nlmsg_len = static_cast<uint32_t>(len);
    b.resize(len);
    return b;
}

TEST(BypassPolicy, RouteReplies) {
    auto via = parse_route_reply(route_reply(7, RTN_UNICAST, true), 7, 99);
    ASSERT_TRUE(via);
    EXPECT_TRUE(outside(*via));
    auto link = parse_route_reply(route_reply(7, RTN_UNICAST, false), 7, 99);
    ASSERT_TRUE(link);
    EXPECT_FALSE(outside(*link)); // directly connected
    auto local = parse_route_reply(route_reply(7, RTN_LOCAL, false), 7, 99);
    ASSERT_TRUE(local);
    EXPECT_FALSE(outside(*local));
    EXPECT_FALSE(parse_route_reply(route_reply(7, RTN_UNICAST, true), 8, 99)); // another request
    // a change notification that another program's `ip route add` (seq 7) made
    EXPECT_FALSE(parse_route_reply(route_reply(7, RTN_UNICAST, true, 4242), 7, 99));
    auto r = route_reply(7, RTN_UNICAST, true);
    EXPECT_FALSE(parse_route_reply({r.data(), r.size() - 10}, 7, 99)); // torn
    // NLMSG_ERROR: no route
    std::vector<uint8_t> e(NLMSG_LENGTH(sizeof(nlmsgerr)), 0);
    auto* nh = reinterpret_cast<nlmsghdr*>(e.data());
    nh->nlmsg_len = static_cast<uint32_t>(e.size());
    nh->nlmsg_type = NLMSG_ERROR;
    nh->nlmsg_seq = 7;
    nh->nlmsg_pid = 99;
    static_cast<nlmsgerr*>(NLMSG_DATA(nh))->error = -ENETUNREACH;
    auto err = parse_route_reply(e, 7, 99);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->error, ENETUNREACH);
    EXPECT_FALSE(outside(*err));
}

TEST(BypassPolicy, RouteRequestCarriesTheDestination) {
    auto req = route_request(addr("198.51.100.2"), 42);
    auto* nh = reinterpret_cast<const nlmsghdr*>(req.data());
    EXPECT_EQ(nh->nlmsg_type, RTM_GETROUTE);
    EXPECT_EQ(nh->nlmsg_seq, 42u);
    auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(nh));
    EXPECT_EQ(rt->rtm_family, AF_INET);
    EXPECT_EQ(rt->rtm_dst_len, 32);
    EXPECT_EQ(std::memcmp(req.data() + nh->nlmsg_len - 4, addr("198.51.100.2").bytes.data(), 4), 0);
}

} // namespace
} // namespace rk::bypass
