// Purpose: port spec parsing and validation - every case of the spec's table (7.1) and of
// upstream's TestParsePortSpec / TestValidatePortSpec (8.2).
#include "port/spec.hpp"

#include <gtest/gtest.h>

namespace rk::port {
namespace {

TEST(PortSpecParse, Valid) {
    const std::pair<const char*, PortSpec> cases[] = {
        {"127.0.0.1:8080:80/tcp", {"tcp", "127.0.0.1", 8080, "", 80}},
        {"127.0.0.1:8080:80/tcp4", {"tcp4", "127.0.0.1", 8080, "", 80}},
        {"127.0.0.1:8080:10.0.2.100:80/tcp", {"tcp", "127.0.0.1", 8080, "10.0.2.100", 80}},
        {"[::1]:8080:80/tcp", {"tcp", "::1", 8080, "", 80}},
        {"[::1]:8080:[::2]:80/udp", {"udp", "::1", 8080, "::2", 80}},
        {":28180:80/tcp", {"tcp", "", 28180, "", 80}},
        {"127.0.0.1 : 28186:80/tcp", {"tcp", "127.0.0.1", 28186, "", 80}},
        {"127.0.0.1:028188:80/tcp", {"tcp", "127.0.0.1", 28188, "", 80}},
        {"[127.0.0.1]:8080:80/tcp", {"tcp", "127.0.0.1", 8080, "", 80}},
        {"0.0.0.0:8080:[::1]:80/tcp4", {"tcp4", "0.0.0.0", 8080, "::1", 80}},
        {"[::]:8080:[127.0.0.1]:80/tcp6", {"tcp6", "::", 8080, "127.0.0.1", 80}},
        {"127.0.0.1:8080:80/sctp", {"sctp", "127.0.0.1", 8080, "", 80}},
    };
    for (const auto& [in, want] : cases) {
        auto r = parse_port_spec(in);
        ASSERT_TRUE(r) << in << ": " << r.error().message();
        EXPECT_EQ(*r, want) << in;
    }
}

TEST(PortSpecParse, Invalid) {
    for (const char* in : {"bad",
                           "8080",
                           "8080:80/tcp",
                           "localhost:8080:80/tcp",
                           "::1:8080:80/tcp",
                           "[fe80::1%eth0]:8080:80/tcp",
                           "a:b:80:90/tcp",
                           "127.0.0.1:8080:80/tcp,127.0.0.1:4040:40/tcp",
                           "127.0.0.1:28202: 80/tcp",
                           "127.0.0.1:28202:80 /tcp",
                           "127.0.0.1:28202:80/ tcp",
                           "127.0.0.1:28202:80/tcp ",
                           "127.0.0.1:8080:80/TCP",
                           "127.0.0.1:8080:80/",
                           "[::1:8080:80/tcp",
                           "1.2.3.4:x:80/tcp",
                           "1.2.3.4:80:x/tcp",
                           ":80/tcp",
                           "1:2:3:4:5/tcp",
                           "[::1]x:80:80/tcp"})
        EXPECT_FALSE(parse_port_spec(in)) << in;
}

TEST(PortSpecParse, Messages) {
    EXPECT_EQ(parse_port_spec("8080").error().context,
              "missing proto in PortSpec string: \"8080\"");
    EXPECT_EQ(parse_port_spec("1.2.3.4:80:80/x").error().context,
              "invalid PortSpec string: \"1.2.3.4:80:80/x\": unknown proto: \"x\"");
    EXPECT_EQ(parse_port_spec("host:80:80/tcp").error().context,
              "unexpected ParentIP in PortSpec string: \"host:80:80/tcp\"");
    EXPECT_EQ(parse_port_spec("1.2.3.4:80:host:80/tcp").error().context,
              "unexpected ChildIP in PortSpec string: \"1.2.3.4:80:host:80/tcp\"");
    // Unlike upstream, the label names the field that is wrong.
    EXPECT_NE(parse_port_spec("1.2.3.4:x:80/tcp").error().context.find("unexpected ParentPort"),
              std::string::npos);
    EXPECT_NE(parse_port_spec("1.2.3.4:80:y/tcp").error().context.find("unexpected ChildPort"),
              std::string::npos);
}

TEST(PortSpecValidate, UpstreamTable) {
    const std::map<int, PortSpec> existing = {
        {1, {"tcp", "", 80, "", 80}},
        {2, {"tcp", "10.10.10.10", 8080, "", 8080}},
    };
    const PortSpec base{"tcp", "127.0.0.1", 1001, "", 1001};
    auto with = [&](auto f) {
        PortSpec s = base;
        f(s);
        return validate_port_spec(s, existing);
    };
    EXPECT_TRUE(validate_port_spec(base, existing));
    for (const char* p : {"", "NaN", "TCP"}) {
        auto r = with([&](PortSpec& s) { s.proto = p; });
        ASSERT_FALSE(r) << p;
        EXPECT_NE(r.error().context.find("unknown proto"), std::string::npos);
    }
    for (const char* p : {"udp", "tcp", "sctp"})
        EXPECT_TRUE(with([&](PortSpec& s) { s.proto = p; }));
    EXPECT_NE(
        with([](PortSpec& s) { s.parent_ip = "invalid"; }).error().context.find("invalid ParentIP"),
        std::string::npos);
    EXPECT_NE(
        with([](PortSpec& s) { s.child_ip = "invalid"; }).error().context.find("invalid ChildIP"),
        std::string::npos);
    for (int port : {-200, 0, 1000000}) {
        EXPECT_FALSE(with([&](PortSpec& s) { s.parent_port = port; })) << port;
        EXPECT_FALSE(with([&](PortSpec& s) { s.child_port = port; })) << port;
    }
    for (int port : {20, 500, 1337, 65000}) {
        EXPECT_TRUE(with([&](PortSpec& s) { s.parent_port = port; })) << port;
        EXPECT_TRUE(with([&](PortSpec& s) { s.child_port = port; })) << port;
    }
    EXPECT_TRUE(validate_port_spec({"udp", "", 80, "", 80}, existing));
    EXPECT_TRUE(validate_port_spec({"tcp", "10.10.10.11", 8080, "", 8080}, existing));
    EXPECT_TRUE(validate_port_spec({"tcp", "10.10.10.10", 8081, "", 8080}, existing));
    EXPECT_EQ(validate_port_spec({"tcp", "", 80, "", 90}, existing).error().context,
              "conflict with ID 1");
    EXPECT_EQ(validate_port_spec({"tcp", "10.10.10.10", 8080, "", 8080}, existing).error().context,
              "conflict with ID 2");
    // Same port, other proto string or other parent IP string: no conflict at this level.
    EXPECT_TRUE(validate_port_spec({"tcp4", "", 80, "", 80}, existing));
    EXPECT_TRUE(validate_port_spec({"tcp", "0.0.0.0", 80, "", 80}, existing));
    // ParentPort 0: any free port where the driver allows it (never a conflict), else refused
    // with a hint; still no negative or oversized ports.
    PortSpec any{"tcp", "", 0, "", 80};
    auto refused = validate_port_spec(any, existing);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().context, "invalid ParentPort: 0 (must be 1-65535)");
    EXPECT_NE(refused.error().hint.find("--port-driver=builtin"), std::string::npos);
    auto with_any = existing;
    with_any[3] = any;
    EXPECT_TRUE(validate_port_spec(any, with_any, AnyParentPort::Allowed));
    EXPECT_FALSE(validate_port_spec({"tcp", "", -1, "", 80}, existing, AnyParentPort::Allowed));
    EXPECT_FALSE(validate_port_spec({"tcp", "", 0, "", 0}, existing, AnyParentPort::Allowed));
}

TEST(PortSpec, PlainIpv4) {
    EXPECT_EQ(plain_ipv4("::ffff:10.0.2.100"), "10.0.2.100");
    EXPECT_EQ(plain_ipv4("::FFFF:127.0.0.1"), "127.0.0.1");
    EXPECT_EQ(plain_ipv4("0:0:0:0:0:ffff:7f00:1"), "127.0.0.1");
    EXPECT_EQ(plain_ipv4("::ffff:0.0.0.0"), "0.0.0.0");
    // not mapped: unchanged
    EXPECT_EQ(plain_ipv4("::1"), "::1");
    EXPECT_EQ(plain_ipv4("::127.0.0.1"), "::127.0.0.1"); // IPv4-compatible, not mapped
    EXPECT_EQ(plain_ipv4("64:ff9b::10.0.2.100"), "64:ff9b::10.0.2.100");
    EXPECT_EQ(plain_ipv4("10.0.2.100"), "10.0.2.100");
    EXPECT_EQ(plain_ipv4(""), "");
    EXPECT_EQ(plain_ipv4("not-an-ip"), "not-an-ip");
    PortSpec s{"tcp", "::ffff:127.0.0.1", 8080, "::ffff:10.0.2.100", 80};
    EXPECT_EQ(with_plain_ipv4(s), (PortSpec{"tcp", "127.0.0.1", 8080, "10.0.2.100", 80}));
}

TEST(PortSpec, GoNotation) {
    EXPECT_EQ(go_notation({"tcp", "127.0.0.1", 18080, "", 80}), "{tcp 127.0.0.1 18080 80 }");
}

} // namespace
} // namespace rk::port

namespace rk::port {
namespace {

// Ports past int32 are named as written, never clamped (issue 18 item 11).
TEST(PortSpec, FullWidthNumbersInErrors) {
    auto p = parse_port_spec("127.0.0.1:4294967297:80/tcp");
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().context, "invalid ParentPort: 4294967297 (must be 1-65535)");
    auto c = parse_port_spec("127.0.0.1:8080:-2147483649/tcp");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().context, "invalid ChildPort: -2147483649 (must be 1-65535)");
    auto ok = parse_port_spec("127.0.0.1:2147483647:80/tcp"); // parses; validation refuses
    ASSERT_TRUE(ok);
    EXPECT_EQ(validate_port_spec(*ok, {}).error().context,
              "invalid ParentPort: 2147483647 (must be 1-65535)");
}

} // namespace
} // namespace rk::port

#include "port/registry.hpp"

#include <cstdlib>

namespace rk::port {
namespace {

proto::Options with_port_driver(const std::string& name) {
    proto::Options o;
    o.port_driver = name;
    return o;
}

// The registry answers for every driver without the parent or the child naming one.
TEST(PortRegistry, HalvesAndChecksByName) {
    EXPECT_TRUE(needs_dial_channel(with_port_driver("builtin")));
    for (const char* n : {"none", "implicit", "slirp4netns", "gvisor-tap-vsock", "pesto"}) {
        EXPECT_FALSE(needs_dial_channel(with_port_driver(n))) << n;
        EXPECT_EQ(make_child_half(with_port_driver(n), -1), nullptr) << n;
    }
    EXPECT_NE(make_child_half(with_port_driver("builtin"), -1), nullptr);
    boost::asio::io_context io;
    for (const char* n : {"none", "implicit"}) {
        auto o = with_port_driver(n);
        auto d = make_parent_half({io, o, "", "", -1, "", util::Fd(), false});
        ASSERT_TRUE(d) << d.error().message();
        EXPECT_EQ(*d, nullptr) << n; // pasta (implicit) forwards on its own; none has no ports
    }
    auto bogus = with_port_driver("bogus");
    EXPECT_FALSE(check(bogus));
    EXPECT_FALSE(make_parent_half({io, bogus, "", "", -1, "", util::Fd(), false}));
}

// pesto is looked for next to pasta, then in PATH; without it, start-up stops at the check.
TEST(PortRegistry, PestoMissingIsOneLineWithTheFix) {
    auto o = with_port_driver("pesto");
    o.pasta_binary = "/nonexistent/pasta";
    const char* old = std::getenv("PATH");
    std::string saved = old ? old : "";
    ::setenv("PATH", "/nonexistent", 1);
    auto st = check(o);
    ::setenv("PATH", saved.c_str(), 1);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("pesto (passt's client for a running pasta) not found"),
              std::string::npos);
    EXPECT_NE(st.error().message().find("install passt 2026_05_07 or newer"), std::string::npos);
    EXPECT_TRUE(check(with_port_driver("builtin")));
}

} // namespace
} // namespace rk::port

// Docker's 8080:80 form is refused, as upstream does, with the two ways to write it.
TEST(PortSpec, ParentIpLeftOutSaysHowToWriteIt) {
    auto r = rk::port::parse_port_spec("18700:80/tcp");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "invalid PortSpec string: \"18700:80/tcp\"");
    EXPECT_NE(r.error().hint.find("write :18700:80/tcp for every address"), std::string::npos);
    EXPECT_NE(r.error().hint.find("127.0.0.1:18700:80/tcp"), std::string::npos);
    auto ok = rk::port::parse_port_spec(":18700:80/tcp");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->parent_ip, "");
    EXPECT_EQ(ok->parent_port, 18700);
    // the grammar's hint says the parent IP may be empty, not that it is optional
    auto bad = rk::port::parse_port_spec("1:2:3:4:5/tcp");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().hint.find("PARENT_IP may be empty"), std::string::npos);
}
