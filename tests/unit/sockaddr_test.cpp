// sys/sockaddr: addresses from text, the loopback test, and the endpoint <-> sockaddr round
// trip (the bypass's connect() parsing is tested in bypass_test).
#include "sys/sockaddr.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <gtest/gtest.h>
#include <netinet/in.h>

using namespace rk::sys;

TEST(SockAddr, ParsesNumericAddressesOnly) {
    auto v4 = parse_ip("192.0.2.7");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family, AF_INET);
    EXPECT_EQ(v4->size(), 4u);
    EXPECT_EQ(v4->bytes[3], 7);
    auto v6 = parse_ip("2001:db8::1");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family, AF_INET6);
    EXPECT_EQ(v6->bytes[15], 1);
    EXPECT_FALSE(parse_ip("localhost"));
    EXPECT_FALSE(parse_ip("192.0.2.256"));
    EXPECT_FALSE(parse_ip(""));
}

TEST(SockAddr, Loopback) {
    EXPECT_TRUE(is_loopback(*parse_ip("127.0.0.1")));
    EXPECT_TRUE(is_loopback(*parse_ip("127.255.0.9")));
    EXPECT_TRUE(is_loopback(*parse_ip("::1")));
    EXPECT_FALSE(is_loopback(*parse_ip("128.0.0.1")));
    EXPECT_FALSE(is_loopback(*parse_ip("::2")));
    EXPECT_FALSE(is_loopback(*parse_ip("::")));
    // an IPv4-mapped loopback client arrives as IPv4 once parsed
    sockaddr_in6 m{};
    m.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr);
    sockaddr_storage ss{};
    std::memcpy(&ss, &m, sizeof m);
    auto e = parse_sockaddr(ss);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->addr.family, AF_INET);
    EXPECT_TRUE(is_loopback(e->addr));
}

TEST(SockAddr, EndpointRoundTrip) {
    for (auto [family, text] :
         {std::pair{AF_INET, "198.51.100.3"}, std::pair{AF_INET6, "2001:db8::5"}}) {
        auto a = parse_ip(text);
        ASSERT_TRUE(a);
        sockaddr_storage ss;
        socklen_t len = to_sockaddr(endpoint(family, a->bytes.data(), 8080), ss);
        EXPECT_EQ(len, family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
        EXPECT_EQ(ss.ss_family, family);
        auto back = parse_sockaddr(ss);
        ASSERT_TRUE(back);
        EXPECT_EQ(back->addr, *a);
        EXPECT_EQ(back->port, 8080);
        EXPECT_EQ(back->socket_family, family);
    }
    // an IPv4 address for an IPv6 socket comes out mapped
    Endpoint e{AF_INET6, *parse_ip("10.0.2.2"), 53};
    sockaddr_storage ss;
    ASSERT_EQ(to_sockaddr(e, ss), sizeof(sockaddr_in6));
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6&>(ss).sin6_addr, buf, sizeof buf);
    EXPECT_STREQ(buf, "::ffff:10.0.2.2");
}
