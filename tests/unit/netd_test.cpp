// Purpose: rootlesskit-netd's pure parts: the DNS address rewrite (checksums must stay valid),
// its command line, and its slirp4netns-style port API.
#include "netd/api.hpp"
#include "netd/config.hpp"
#include "netd/rewrite.hpp"
#include "netd/sandbox.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <nlohmann/json.hpp>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace rk::netd {
namespace {

uint32_t ip(const char* s) {
    in_addr a{};
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

uint16_t sum16(const uint8_t* p, size_t n, uint32_t s = 0) {
    for (size_t i = 0; i + 1 < n; i += 2)
        s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n % 2) s += static_cast<uint32_t>(p[n - 1] << 8);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
}

// A frame with correct checksums: Ethernet, IPv4 src -> dst, UDP or TCP sport -> dport.
std::vector<uint8_t> frame(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
                           uint16_t dport) {
    size_t l4 = proto == 17 ? 8 : 20;
    std::vector<uint8_t> f(14 + 20 + l4 + 5, 0);
    f[12] = 0x08;
    uint8_t* h = &f[14];
    h[0] = 0x45;
    uint16_t total = static_cast<uint16_t>(20 + l4 + 5);
    h[2] = static_cast<uint8_t>(total >> 8);
    h[3] = static_cast<uint8_t>(total);
    h[8] = 64;
    h[9] = proto;
    std::memcpy(h + 12, &src, 4);
    std::memcpy(h + 16, &dst, 4);
    uint16_t c = static_cast<uint16_t>(~sum16(h, 20));
    h[10] = static_cast<uint8_t>(c >> 8);
    h[11] = static_cast<uint8_t>(c);
    uint8_t* u = h + 20;
    u[0] = static_cast<uint8_t>(sport >> 8);
    u[1] = static_cast<uint8_t>(sport);
    u[2] = static_cast<uint8_t>(dport >> 8);
    u[3] = static_cast<uint8_t>(dport);
    if (proto == 17) {
        u[4] = 0;
        u[5] = static_cast<uint8_t>(l4 + 5);
    } else {
        u[12] = 0x50;
    }
    std::memcpy(u + l4, "hello", 5);
    return f;
}

// Fills in the L4 checksum, or checks it: the pseudo-header plus segment sums to 0xffff.
uint16_t l4_sum(const std::vector<uint8_t>& f) {
    const uint8_t* h = &f[14];
    size_t len = f.size() - 34;
    uint32_t s = sum16(h + 12, 8);
    s += h[9];
    s += static_cast<uint32_t>(len);
    return sum16(h + 20, len, s);
}
void fill_l4(std::vector<uint8_t>& f) {
    size_t off = 34 + (f[23] == 17 ? 6 : 16);
    uint16_t c = static_cast<uint16_t>(~l4_sum(f));
    f[off] = static_cast<uint8_t>(c >> 8);
    f[off + 1] = static_cast<uint8_t>(c);
}

const DnsAlias kAlias{ip("10.0.2.1"), ip("10.0.2.3")};

TEST(NetdRewrite, QueriesToTheGatewayGoToSlirpsDnsWithValidChecksums) {
    for (uint8_t proto : {uint8_t{17}, uint8_t{6}}) {
        auto f = frame(proto, ip("10.0.2.100"), ip("10.0.2.1"), 40000, 53);
        fill_l4(f);
        ASSERT_TRUE(rewrite_outbound(f, kAlias));
        uint32_t dst;
        std::memcpy(&dst, &f[30], 4);
        EXPECT_EQ(dst, ip("10.0.2.3"));
        EXPECT_EQ(sum16(&f[14], 20), 0xffff); // IPv4 header
        EXPECT_EQ(l4_sum(f), 0xffff);         // UDP/TCP with the pseudo-header
        // and the answer back
        auto r = frame(proto, ip("10.0.2.3"), ip("10.0.2.100"), 53, 40000);
        fill_l4(r);
        ASSERT_TRUE(rewrite_inbound(r, kAlias));
        uint32_t src;
        std::memcpy(&src, &r[26], 4);
        EXPECT_EQ(src, ip("10.0.2.1"));
        EXPECT_EQ(sum16(&r[14], 20), 0xffff);
        EXPECT_EQ(l4_sum(r), 0xffff);
    }
}

TEST(NetdRewrite, LeavesEverythingElseAlone) {
    auto other_port = frame(6, ip("10.0.2.100"), ip("10.0.2.1"), 40000, 8080);
    auto before = other_port;
    EXPECT_FALSE(rewrite_outbound(other_port, kAlias));
    EXPECT_EQ(other_port, before);
    auto other_host = frame(17, ip("10.0.2.100"), ip("8.8.8.8"), 40000, 53);
    EXPECT_FALSE(rewrite_outbound(other_host, kAlias));
    auto icmp = frame(17, ip("10.0.2.100"), ip("10.0.2.1"), 40000, 53);
    icmp[23] = 1;
    EXPECT_FALSE(rewrite_outbound(icmp, kAlias));
    auto fragment = frame(17, ip("10.0.2.100"), ip("10.0.2.1"), 40000, 53);
    fragment[20] = 0x00;
    fragment[21] = 0x10; // offset != 0
    EXPECT_FALSE(rewrite_outbound(fragment, kAlias));
    auto truncated = frame(17, ip("10.0.2.100"), ip("10.0.2.1"), 40000, 53);
    truncated.resize(36);
    EXPECT_FALSE(rewrite_outbound(truncated, kAlias));
    // UDP without a checksum keeps none
    auto nosum = frame(17, ip("10.0.2.100"), ip("10.0.2.1"), 40000, 53);
    ASSERT_TRUE(rewrite_outbound(nosum, kAlias));
    EXPECT_EQ(nosum[40], 0);
    EXPECT_EQ(nosum[41], 0);
}

TEST(NetdConfig, ParsesAndRejects) {
    auto c = parse_config({"--mtu", "1500", "--cidr", "10.0.7.0/24", "--disable-host-loopback",
                           "--api-socket", "/sd/.netd.sock"});
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->mtu, 1500u);
    EXPECT_EQ(c->network.s_addr, ip("10.0.7.0"));
    EXPECT_EQ(c->prefix, 24);
    EXPECT_TRUE(c->disable_host_loopback);
    EXPECT_EQ(c->api_socket, "/sd/.netd.sock");
    EXPECT_FALSE(c->ipv6);
    auto v6 = parse_config({"--cidr", "10.0.7.0/24", "--ipv6"});
    ASSERT_TRUE(v6) << v6.error().message();
    EXPECT_TRUE(v6->ipv6);
    EXPECT_FALSE(v6->without_landlock);
    auto nl = parse_config({"--cidr", "10.0.7.0/24", "--without-landlock"});
    ASSERT_TRUE(nl) << nl.error().message();
    EXPECT_TRUE(nl->without_landlock);
    EXPECT_FALSE(parse_config({}));                        // --cidr required
    EXPECT_FALSE(parse_config({"--cidr", "10.0.7.1/24"})); // host bits
    EXPECT_FALSE(parse_config({"--cidr", "10.0.7.0/30"})); // no room for .100
    EXPECT_FALSE(parse_config({"--cidr", "10.0.7.0/24", "--mtu"}));
    EXPECT_FALSE(parse_config({"--cidr", "10.0.7.0/24", "--mtu", "70000"}));
    EXPECT_FALSE(parse_config({"--cidr", "10.0.7.0/24", "--api-socket", "rel"}));
    EXPECT_FALSE(parse_config({"--cidr", "10.0.7.0/24", "--bogus"}));
}

struct RecordingForwarder : Forwarder {
    std::vector<Forward> added, removed;
    int add(const Forward& f) override {
        if (f.host_port == 1) return -EACCES;
        added.push_back(f);
        return 0;
    }
    int remove(const Forward& f) override {
        removed.push_back(f);
        return 0;
    }
};

TEST(NetdApi, AddListRemoveLikeSlirp4netns) {
    RecordingForwarder fw;
    Api api(fw);
    using json = nlohmann::json;
    auto add = json::parse(api.handle(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp",
        "host_addr":"127.0.0.1","host_port":8080,"guest_addr":"10.0.2.100","guest_port":80}})"));
    EXPECT_EQ(add["return"]["id"], 1);
    ASSERT_EQ(fw.added.size(), 1u);
    EXPECT_EQ(fw.added[0].host.s_addr, ip("127.0.0.1"));
    EXPECT_EQ(fw.added[0].guest_port, 80);
    // the same host port again conflicts; 0.0.0.0 overlaps everything
    auto dup = json::parse(api.handle(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp",
        "host_addr":"","host_port":8080,"guest_addr":"10.0.2.100","guest_port":81}})"));
    EXPECT_TRUE(dup.contains("error"));
    auto udp = json::parse(api.handle(R"({"execute":"add_hostfwd","arguments":{"proto":"udp",
        "host_port":8080,"guest_addr":"10.0.2.100","guest_port":53}})"));
    EXPECT_EQ(udp["return"]["id"], 2);
    EXPECT_EQ(fw.added[1].host.s_addr, htonl(INADDR_ANY));
    auto list = json::parse(api.handle(R"({"execute":"list_hostfwd"})"));
    EXPECT_EQ(list["entries"].size(), 2u);
    auto rm = json::parse(api.handle(R"({"execute":"remove_hostfwd","arguments":{"id":1}})"));
    EXPECT_TRUE(rm.contains("return"));
    EXPECT_EQ(fw.removed.size(), 1u);
    auto again = json::parse(api.handle(R"({"execute":"remove_hostfwd","arguments":{"id":1}})"));
    EXPECT_EQ(again["error"]["desc"], "unknown id: 1");
    // failures and bad requests
    auto denied = json::parse(api.handle(R"({"execute":"add_hostfwd","arguments":{"proto":"tcp",
        "host_port":1,"guest_addr":"10.0.2.100","guest_port":80}})"));
    EXPECT_NE(denied["error"]["desc"].get<std::string>().find("Permission denied"),
              std::string::npos);
    for (const char* bad : {"", "[]", "{}", R"({"execute":1})", R"({"execute":"nope"})",
                            R"({"execute":"add_hostfwd","arguments":{"proto":"sctp"}})",
                            R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":0,
                                "guest_addr":"10.0.2.100","guest_port":80}})",
                            R"({"execute":"add_hostfwd","arguments":{"proto":"tcp","host_port":80,
                                "guest_addr":"::1","guest_port":80}})"})
        EXPECT_TRUE(json::parse(api.handle(bad)).contains("error")) << bad;
}

// Runs `body` in a child that entered the sandbox; returns its wait status.
template <typename F> int in_sandbox(F body) {
    pid_t pid = fork();
    if (pid == 0) {
        auto s = enter_sandbox(false);
        if (!s || !s->landlock) _exit(100);
        _exit(body());
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

bool kernel_has_landlock() {
    return syscall(SYS_landlock_create_ruleset, nullptr, 0, 1 /* VERSION */) >= 1;
}

// Each check a distinct exit code, so a failure names the property that broke.
TEST(NetdSandbox, ReadsEtcOnlyOpensReadOnlyAndAllowsOnlyFionread) {
    if (!kernel_has_landlock()) GTEST_SKIP() << "environment: no Landlock in this kernel";
    int st = in_sandbox([] {
        int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return 1; // reading /etc is what libslirp needs
        close(fd);
        if (open("/etc/passwd", O_WRONLY | O_CLOEXEC) >= 0 || errno != kSeccompDenied) return 2;
        if (open("/etc/x", O_RDONLY | O_CREAT, 0600) >= 0 || errno != kSeccompDenied) return 3;
        if (open("/etc/passwd", O_RDWR | O_APPEND) >= 0 || errno != kSeccompDenied) return 4;
        // Outside /etc, Landlock refuses even reading (seccomp lets a read-only open through).
        if (open("/tmp", O_RDONLY | O_DIRECTORY) >= 0 || errno != EACCES) return 5;
        if (open("/proc/self/status", O_RDONLY) >= 0 || errno != EACCES) return 6;
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) return 7;
        int n = -1;
        if (ioctl(s, FIONREAD, &n) != 0 || n != 0) return 8;
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 || errno != kSeccompDenied) return 9;
        return 0;
    });
    ASSERT_TRUE(WIFEXITED(st)) << "killed by signal " << WTERMSIG(st);
    EXPECT_EQ(WEXITSTATUS(st), 0) << "check " << WEXITSTATUS(st) << " failed";
}

TEST(NetdSandbox, KillsOnSocketsOtherThanIp) {
    if (!kernel_has_landlock()) GTEST_SKIP() << "environment: no Landlock in this kernel";
    for (int domain : {AF_UNIX, AF_NETLINK, AF_PACKET}) {
        int st = in_sandbox([domain] {
            socket(domain, SOCK_DGRAM, 0);
            return 0;
        });
        ASSERT_TRUE(WIFSIGNALED(st)) << "domain " << domain << " exit " << WEXITSTATUS(st);
        EXPECT_EQ(WTERMSIG(st), SIGSYS) << "domain " << domain;
    }
}
} // namespace
} // namespace rk::netd
