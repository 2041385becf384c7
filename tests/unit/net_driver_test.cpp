// The network drivers' own networks: what the socket bypass must never take to the host
// (parent.cpp's bypass_config asks the driver; no driver names there).
#include "net/driver.hpp"
#include "net/embedded.hpp"
#include "net/vnet.hpp"
#include "proto/options.hpp"

#include <gtest/gtest.h>

using namespace rk;

namespace {

std::vector<std::string> own(proto::Options o) {
    o.vpnkit_binary = "/bin/true"; // found, never run: make_driver only looks it up
    auto d = net::make_driver(o);
    EXPECT_TRUE(d) << (d ? "" : d.error().message());
    return d ? (*d)->own_networks() : std::vector<std::string>{"(no driver)"};
}

proto::Options with(std::string net, bool ipv6 = false, std::string cidr = "") {
    proto::Options o;
    o.net = std::move(net);
    o.ipv6 = ipv6;
    o.cidr = std::move(cidr);
    return o;
}

} // namespace

TEST(NetDriver, OwnNetworks) {
    using V = std::vector<std::string>;
    EXPECT_EQ(own(with("host")), V{});
    EXPECT_EQ(own(with("none")), V{});
    EXPECT_EQ(own(with("slirp4netns")), V{"10.0.2.0/24"});
    EXPECT_EQ(own(with("slirp4netns", true, "10.8.0.0/16")), (V{"10.8.0.0/16", "fd00::/64"}));
    // the embedded network, made directly (make_driver looks for an installed rootlesskit-netd)
    auto o = with("gvisor-tap-vsock", true);
    net::EmbeddedDriver embedded(o, *net::plan_virtual_net(o, 65520, 1, 1), "/bin/true", {}, {});
    EXPECT_EQ(embedded.own_networks(), (V{"10.0.2.0/24", "fd00::/64"}));
    // pasta's IPv6 is the host's own prefix: not the namespace's alone
    EXPECT_EQ(own(with("pasta", true)), V{"10.0.2.0/24"});
    // vpnkit's fixed network (the old bypass set-up named drivers and missed it)
    EXPECT_EQ(own(with("vpnkit", true)), V{"192.168.65.0/24"});
}
