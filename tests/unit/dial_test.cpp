// Purpose: the builtin port driver's dial requests: targets and the client source address
// used for source-IP transparency.
#include "port/builtin/dial.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <gtest/gtest.h>

namespace rk::port::builtin {
namespace {

sockaddr_storage peer(const char* ip, uint16_t port) {
    sockaddr_storage ss{};
    if (std::strchr(ip, ':')) {
        auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        EXPECT_EQ(::inet_pton(AF_INET6, ip, &s->sin6_addr), 1) << ip;
    } else {
        auto* s = reinterpret_cast<sockaddr_in*>(&ss);
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        EXPECT_EQ(::inet_pton(AF_INET, ip, &s->sin_addr), 1) << ip;
    }
    return ss;
}

std::string source_of(const DialRequest& r) {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(r.src_family, r.src_addr, buf, sizeof buf);
    return buf;
}

TEST(DialRequest, TargetsParseBothFamilies) {
    auto v4 = make_request(1, SOCK_STREAM, "127.0.0.1", 80);
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family, AF_INET);
    EXPECT_EQ(v4->port, 80);
    auto v6 = make_request(2, SOCK_DGRAM, "::1", 53);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family, AF_INET6);
    EXPECT_FALSE(make_request(3, SOCK_STREAM, "localhost", 80));
}

TEST(DialRequest, SourceIsTheClientUnlessLoopback) {
    struct Case {
        const char* client;
        bool used;
        int family;
        const char* source;
    } cases[] = {
        {"192.0.2.7", true, AF_INET, "192.0.2.7"},
        {"127.0.0.1", false, 0, ""},
        {"127.5.6.7", false, 0, ""},
        {"::ffff:192.0.2.7", true, AF_INET, "192.0.2.7"}, // dual-stack listener, v4 client
        {"::ffff:127.0.0.1", false, 0, ""},
        {"2001:db8::7", true, AF_INET6, "2001:db8::7"},
        {"::1", false, 0, ""},
    };
    for (const auto& c : cases) {
        DialRequest r = *make_request(1, SOCK_STREAM, "127.0.0.1", 80);
        EXPECT_EQ(set_source(r, peer(c.client, 40000)), c.used) << c.client;
        EXPECT_EQ(r.src_family, c.family) << c.client;
        if (c.used) {
            EXPECT_EQ(source_of(r), c.source) << c.client;
            EXPECT_EQ(r.src_port, 40000) << c.client;
        }
    }
}

} // namespace
} // namespace rk::port::builtin
