// Purpose: the addressing plan of a user-mode network (slirp4netns, pasta, ...) and the child's
// interface set-up over netlink: lo up, then the device's MTU, up, address and default route.
#pragma once

#include "proto/options.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <string>
#include <vector>

namespace rk::net {

struct VirtualNet {
    std::string ifname;           // tap0
    unsigned mtu = 0;             // 65520
    std::string network;          // 10.0.2.0
    int prefix = 0;               // 24
    std::string child_ip;         // network + 100
    std::string gateway;          // network + 2
    std::vector<std::string> dns; // network + 3 (+ fd00::3 with --ipv6 on slirp4netns)
};

// "10.0.2.0" + 100 -> "10.0.2.100"; an error if the sum leaves the IPv4 space (upstream's
// "255.255.255.100 + 156 overflows").
util::Result<std::string> ipv4_add(const std::string& ip, unsigned n);

// The plan from --cidr (default 10.0.2.0/24), --mtu (0: default_mtu), --ifname (default tap0),
// with the gateway and DNS at the given offsets.
util::Result<VirtualNet> plan_virtual_net(const proto::Options& opts, unsigned default_mtu,
                                          unsigned gateway_offset, unsigned dns_offset);

// Child side: creates the tap device `name` (IFF_TAP | IFF_NO_PI); it lives while the fd does.
util::Result<util::Fd> open_tap(const std::string& name);

// Child side: creates `name` as a persistent tap device (IFF_TAP | IFF_NO_PI, what slirp4netns
// and friends attach to). Persistent, so that when the helper exits its close does not
// unregister the device synchronously (tens of ms of RCU waits in the helper's exit, i.e. in
// our shutdown); the namespace's own teardown removes it in the background.
util::Status create_persistent_tap(const std::string& name);

// Child side: lo up, then `plan.ifname` MTU, up, address/prefix and default route.
util::Status configure_interface(const VirtualNet& plan);

} // namespace rk::net
