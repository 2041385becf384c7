// Purpose: slirp4netns feature probing, its command line (upstream's, spec 6.3) and the
// user-mode network addressing plan.
#include "net/slirp4netns.hpp"
#include "net/vnet.hpp"
#include "port/slirp4netns/driver.hpp"

#include <csignal>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace rk::net {
namespace {

TEST(Slirp4netns, FeaturesFromHelp) {
    auto old =
        parse_slirp4netns_help("Usage: slirp4netns [OPTION]... PID TAPNAME\n-c, --configure\n");
    EXPECT_FALSE(old.netns_type);
    EXPECT_FALSE(old.sandbox);
    auto v12 = parse_slirp4netns_help(
        "--netns-type=TYPE\n--enable-ipv6\n--cidr=CIDR\n--disable-host-loopback\n"
        "--api-socket=PATH\n--enable-sandbox\n--enable-seccomp\n");
    EXPECT_TRUE(v12.netns_type);
    EXPECT_TRUE(v12.ipv6);
    EXPECT_TRUE(v12.cidr);
    EXPECT_TRUE(v12.disable_host_loopback);
    EXPECT_TRUE(v12.api_socket);
    EXPECT_TRUE(v12.sandbox);
    EXPECT_TRUE(v12.seccomp);
}

TEST(Slirp4netns, CommandLineMatchesUpstream) {
    // Observed upstream: slirp4netns --mtu 65520 -r 3 --disable-host-loopback
    //                    --api-socket /tmp/s4state/.s4nn.sock 11874 tap0
    Slirp4netnsArgs a{65520, true,  "",    "/tmp/s4state/.s4nn.sock", false, false,
                      false, 11874, "tap0"};
    EXPECT_EQ(fmt::format("{}", fmt::join(slirp4netns_argv(a), " ")),
              "--mtu 65520 -r 3 --disable-host-loopback --api-socket /tmp/s4state/.s4nn.sock "
              "11874 tap0");
    Slirp4netnsArgs all{1500, false, "10.0.7.0/24", "", true, true, true, 42, "eth7"};
    EXPECT_EQ(fmt::format("{}", fmt::join(slirp4netns_argv(all), " ")),
              "--mtu 1500 -r 3 --cidr 10.0.7.0/24 --enable-sandbox --enable-seccomp "
              "--enable-ipv6 42 eth7");
    // --detach-netns (spec 6.3): the user namespace and the bound netns path replace the PID
    Slirp4netnsArgs detached{65520, false, "", "",     false,
                             false, false, 42, "tap0", "/proc/42/root/sd/netns"};
    EXPECT_EQ(fmt::format("{}", fmt::join(slirp4netns_argv(detached), " ")),
              "--mtu 65520 -r 3 --userns-path=/proc/42/ns/user --netns-type=path "
              "/proc/42/root/sd/netns tap0");
}

TEST(VirtualNet, Ipv4Arithmetic) {
    EXPECT_EQ(*ipv4_add("10.0.2.0", 100), "10.0.2.100");
    EXPECT_EQ(*ipv4_add("10.0.255.200", 100), "10.1.0.44");
    auto over = ipv4_add("255.255.255.100", 156);
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().context, "255.255.255.100 + 156 overflows");
    EXPECT_FALSE(ipv4_add("fd00::", 1));
}

TEST(VirtualNet, PlanDefaultsAndFlags) {
    proto::Options o;
    auto d = plan_virtual_net(o, 65520, 2, 3);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->ifname, "tap0");
    EXPECT_EQ(d->mtu, 65520u);
    EXPECT_EQ(d->child_ip, "10.0.2.100");
    EXPECT_EQ(d->gateway, "10.0.2.2");
    EXPECT_EQ(d->dns, std::vector<std::string>{"10.0.2.3"});
    EXPECT_EQ(d->prefix, 24);
    o.cidr = "10.8.0.0/16";
    o.mtu = 1500;
    o.ifname = "eth7";
    auto c = plan_virtual_net(o, 65520, 1, 1); // gvisor-tap-vsock's offsets
    ASSERT_TRUE(c);
    EXPECT_EQ(c->ifname, "eth7");
    EXPECT_EQ(c->mtu, 1500u);
    EXPECT_EQ(c->child_ip, "10.8.0.100");
    EXPECT_EQ(c->gateway, "10.8.0.1");
    EXPECT_EQ(c->prefix, 16);
}

} // namespace
} // namespace rk::net

#include "port/slirp4netns/driver.hpp"

namespace rk::port::slirp4netns {
namespace {

PortSpec spec(std::string proto, std::string parent_ip, int pp, int cp, std::string child_ip = "") {
    PortSpec s;
    s.proto = std::move(proto);
    s.parent_ip = std::move(parent_ip);
    s.parent_port = pp;
    s.child_port = cp;
    s.child_ip = std::move(child_ip);
    return s;
}

TEST(Slirp4netnsPorts, AddRequest) {
    EXPECT_EQ(*add_request(spec("tcp", "127.0.0.1", 8080, 80), "10.0.2.100"),
              R"({"arguments":{"guest_addr":"10.0.2.100","guest_port":80,"host_addr":"127.0.0.1",)"
              R"("host_port":8080,"proto":"tcp"},"execute":"add_hostfwd"})");
    // the 4 suffix is stripped, an empty parent IP stays empty, ChildIP wins
    auto r = *add_request(spec("udp4", "", 5353, 53, "10.0.2.5"), "10.0.2.100");
    EXPECT_NE(r.find(R"("proto":"udp")"), std::string::npos);
    EXPECT_NE(r.find(R"("host_addr":"")"), std::string::npos);
    EXPECT_NE(r.find(R"("guest_addr":"10.0.2.5")"), std::string::npos);
    EXPECT_EQ(add_request(spec("tcp6", "::", 8080, 80), "10.0.2.100").error().context,
              "unsupported protocol \"tcp6\"");
    EXPECT_EQ(add_request(spec("tcp", "", 8080, 80, "::1"), "10.0.2.100").error().context,
              "unsupported IP (v6?): ::1");
    // IPv4-mapped addresses (Docker >= 28 sends the child IP so) are IPv4, as in Go.
    r = *add_request(spec("tcp4", "::ffff:127.0.0.1", 8080, 80, "::ffff:10.0.2.100"), "10.0.2.100");
    EXPECT_NE(r.find(R"("host_addr":"127.0.0.1")"), std::string::npos);
    EXPECT_NE(r.find(R"("guest_addr":"10.0.2.100")"), std::string::npos);
    r = *add_request(spec("tcp", "", 8080, 80, "::ffff:a00:264"), "10.0.2.100");
    EXPECT_NE(r.find(R"("guest_addr":"10.0.2.100")"), std::string::npos);
}

TEST(Slirp4netnsPorts, Replies) {
    EXPECT_EQ(*parse_add_reply(R"({"return":{"id":7}})"), 7);
    EXPECT_EQ(parse_add_reply(R"({"error":{"desc":"bad request"}})").error().context,
              "slirp4netns: bad request");
    EXPECT_FALSE(parse_add_reply(R"({"return":{}})"));
    EXPECT_FALSE(parse_add_reply("not json"));
    EXPECT_FALSE(parse_add_reply("[1,2]"));
}

TEST(Slirp4netnsPorts, ListAndPlainReplies) {
    // slirp4netns' own form (seen from slirp4netns 1.2), and the "return" wrapper
    auto ids = parse_list_reply(
        R"({"entries":[{"id":1,"proto":"tcp","host_addr":"127.0.0.1","host_port":19701,)"
        R"("guest_addr":"10.0.2.100","guest_port":80},{"id":4}]})");
    ASSERT_TRUE(ids) << ids.error().message();
    EXPECT_EQ(*ids, (std::vector<int>{1, 4}));
    EXPECT_EQ(*parse_list_reply(R"({"return":{"entries":[]}})"), std::vector<int>{});
    EXPECT_FALSE(parse_list_reply(R"({"entries":[{"id":"1"}]})"));
    EXPECT_FALSE(parse_list_reply(R"({"entries":[{"id":4294967297}]})"));
    EXPECT_FALSE(parse_list_reply(R"({"entries":{}})"));
    EXPECT_FALSE(parse_list_reply(R"({"error":{"desc":"no"}})"));
    EXPECT_FALSE(parse_list_reply("{"));
    EXPECT_TRUE(parse_plain_reply(R"({"return":{}})"));
    EXPECT_EQ(parse_plain_reply(R"({"error":{"desc":"bad id"}})").error().context,
              "slirp4netns: bad id");
    EXPECT_EQ(remove_request(3), R"({"arguments":{"id":3},"execute":"remove_hostfwd"})");
    EXPECT_EQ(list_request(), R"({"execute":"list_hostfwd"})");
}

} // namespace
} // namespace rk::port::slirp4netns

#include "net/pasta.hpp"

namespace rk::net {
namespace {

TEST(Pasta, FeaturesFromHelpNotVersion) {
    // Debian 12's pasta says "pasta unknown version" but has what we need.
    auto f = parse_pasta_help("  --config-net\t\tConfigure tap interface in namespace\n"
                              "  -4, --ipv4-only\tEnable IPv4 operation only\n"
                              "  --no-map-gw\t\tDon't map gateway address to host\n"
                              "  --dns-forward ADDR\tForward DNS queries sent to ADDR\n");
    EXPECT_TRUE(f.config_net);
    EXPECT_TRUE(f.ipv4_only);
    EXPECT_TRUE(f.no_map_gw);
    EXPECT_TRUE(f.dns_forward);
    EXPECT_FALSE(f.conf_path); // Debian 12's pasta: no control socket, so no pesto
    EXPECT_FALSE(parse_pasta_help("Usage: passt [OPTION]...\n").config_net);
    EXPECT_TRUE(parse_pasta_help("  -c, --conf-path PATH\tConfiguration socket path\n").conf_path);
}

TEST(Pasta, NamespaceToHostForwardingOff) {
    // disable_host_loopback, implicit_ports, host_lo_to_ns_lo
    EXPECT_TRUE(no_ns_to_host_forwarding(true, false, false));
    EXPECT_TRUE(no_ns_to_host_forwarding(true, true, true));
    EXPECT_FALSE(no_ns_to_host_forwarding(true, true, false)); // old pasta: -t auto would stop
    EXPECT_FALSE(no_ns_to_host_forwarding(false, false, true));
}

TEST(Pasta, CommandLineMatchesUpstream) {
    PastaArgs a{"tap0", 65520, "10.0.2.100", "10.0.2.2", "10.0.2.3", 24,
                true,   false, true,         false,      "",         4242};
    EXPECT_EQ(fmt::format("{}", fmt::join(pasta_argv(a), " ")),
              "--stderr --ns-ifname=tap0 --mtu=65520 --config-net --address=10.0.2.100 "
              "--netmask=24 --gateway=10.0.2.2 --dns-forward=10.0.2.3 --no-map-gw --ipv4-only "
              "--tcp-ports=auto --udp-ports=auto 4242");
    a.no_ns_to_host = true;
    EXPECT_NE(fmt::format("{}", fmt::join(pasta_argv(a), " "))
                  .find("--no-map-gw --tcp-ns=none --udp-ns=none --ipv4-only"),
              std::string::npos);
    PastaArgs b{"eth1", 1500, "10.0.7.100", "10.0.7.2", "10.0.7.3",       24,
                false,  true, false,        true,       "/sd/.pasta.pid", 7};
    EXPECT_EQ(fmt::format("{}", fmt::join(pasta_argv(b), " ")),
              "--stderr --ns-ifname=eth1 --mtu=1500 --config-net --address=10.0.7.100 "
              "--netmask=24 --gateway=10.0.7.2 --dns-forward=10.0.7.3 --tcp-ports=none "
              "--udp-ports=none --host-lo-to-ns-lo --pid=/sd/.pasta.pid 7");
    // --detach-netns (spec 6.4)
    b.detached_netns = "/proc/7/root/sd/netns";
    EXPECT_EQ(fmt::format("{}", fmt::join(pasta_argv(b), " ")),
              "--stderr --ns-ifname=eth1 --mtu=1500 --config-net --address=10.0.7.100 "
              "--netmask=24 --gateway=10.0.7.2 --dns-forward=10.0.7.3 --tcp-ports=none "
              "--udp-ports=none --host-lo-to-ns-lo --pid=/sd/.pasta.pid "
              "--userns=/proc/7/ns/user --netns=/proc/7/root/sd/netns");
    // --port-driver=pesto: the control socket pesto talks to
    b.control_socket = "/sd/.pasta.sock";
    EXPECT_NE(fmt::format("{}", fmt::join(pasta_argv(b), " "))
                  .find("--pid=/sd/.pasta.pid --conf-path=/sd/.pasta.sock --userns="),
              std::string::npos);
}

} // namespace
} // namespace rk::net

namespace rk::port::slirp4netns {
namespace {

// A stopped helper is named at once; a running or unknown one passes.
TEST(Slirp4netnsPorts, CheckRunning) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::pause();
        ::_exit(0);
    }
    EXPECT_TRUE(check_running({"helper", pid}));
    EXPECT_TRUE(check_running({"helper", -1}));
    ::kill(pid, SIGSTOP);
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, WUNTRACED), pid);
    auto r = check_running({"helper", pid});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, fmt::format("helper (pid {}) is stopped and cannot change "
                                             "forwarded ports",
                                             pid));
    ::kill(pid, SIGCONT);
    ASSERT_EQ(::waitpid(pid, &st, WCONTINUED), pid);
    EXPECT_TRUE(check_running({"helper", pid}));
    ::kill(pid, SIGKILL);
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
    EXPECT_FALSE(check_running({"helper", pid})); // a zombie: "has exited"
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
}

} // namespace
} // namespace rk::port::slirp4netns

#include "port/pesto/driver.hpp"

namespace rk::port::pesto {
namespace {

std::string joined(const util::Result<std::vector<std::string>>& r) {
    return r ? fmt::format("{}", fmt::join(*r, " ")) : "error: " + r.error().message();
}

using slirp4netns::spec; // the same PortSpec builder

// pesto's forward syntax (passt 2026): [ADDR/]PORT:CHILDPORT, -t for TCP, -u for UDP.
TEST(Pesto, Arguments) {
    Config c{"pesto", "/sd/.pasta.sock", "10.0.2.100", false};
    EXPECT_EQ(joined(pesto_args(true, spec("tcp", "127.0.0.1", 8080, 80), c)),
              "-A -t 127.0.0.1/8080:80 /sd/.pasta.sock");
    EXPECT_EQ(joined(pesto_args(false, spec("udp", "", 5353, 53), c)),
              "-D -u 5353:53 /sd/.pasta.sock");
    EXPECT_EQ(joined(pesto_args(true, spec("tcp4", "", 8080, 80), c)),
              "-A -t 0.0.0.0/8080:80 /sd/.pasta.sock");
    EXPECT_EQ(joined(pesto_args(true, spec("tcp", "::ffff:127.0.0.1", 8080, 80), c)),
              "-A -t 127.0.0.1/8080:80 /sd/.pasta.sock"); // Docker >= 28's mapped form
    EXPECT_EQ(joined(pesto_args(true, spec("tcp", "", 8080, 80, "10.0.2.100"), c)),
              "-A -t 8080:80 /sd/.pasta.sock");
    // what pasta cannot do
    EXPECT_NE(joined(pesto_args(true, spec("tcp6", "::1", 8080, 80), c))
                  .find("unsupported protocol \"tcp6\""),
              std::string::npos);
    EXPECT_NE(joined(pesto_args(true, spec("sctp", "", 8080, 80), c)).find("unsupported protocol"),
              std::string::npos);
    EXPECT_NE(joined(pesto_args(true, spec("tcp", "", 8080, 80, "10.0.2.5"), c))
                  .find("namespace's own address 10.0.2.100 only"),
              std::string::npos);
    EXPECT_NE(
        joined(pesto_args(true, spec("tcp", "::1", 8080, 80), c)).find("no suitable address found"),
        std::string::npos);
    // with --ipv6
    c.ipv6 = true;
    EXPECT_EQ(joined(pesto_args(true, spec("tcp6", "::1", 8080, 80), c)),
              "-A -t [::1]/8080:80 /sd/.pasta.sock");
    EXPECT_EQ(joined(pesto_args(true, spec("udp6", "", 8080, 80), c)),
              "-A -u [::]/8080:80 /sd/.pasta.sock");
    EXPECT_NE(joined(pesto_args(true, spec("tcp6", "127.0.0.1", 8080, 80), c))
                  .find("no suitable address found"),
              std::string::npos);
}

} // namespace
} // namespace rk::port::pesto
