// Purpose: --net=vpnkit - Docker Desktop's userspace network (moby/vpnkit) as a helper
// process. The parent asks vpnkit for an interface over its --ethernet socket and learns the
// namespace's address by DHCP over that link; the child makes a tap device with vpnkit's MAC,
// connects to vpnkit as the same interface and copies frames between the two.
// vpnkit is not packaged by Debian: without it, one clear line.
#pragma once

#include "net/helper.hpp"
#include "net/vmnet.hpp"

namespace rk::net {

// What the parent hands the child (one line per field).
struct VpnkitLink {
    std::string socket;
    std::string uuid;
    dhcp::Mac mac{};
    std::string child_ip;
    std::string encode() const;
    static util::Result<VpnkitLink> decode(const std::string& s);
};

// vpnkit's command line without argv[0] (spec 6.5).
std::vector<std::string> vpnkit_argv(const std::string& socket, unsigned mtu,
                                     bool disable_host_loopback);

class VpnkitDriver final : public UserModeDriver {
  public:
    VpnkitDriver(const proto::Options& opts, VirtualNet plan, std::string binary)
        : UserModeDriver(opts, std::move(plan)), binary_(std::move(binary)) {}

    std::string_view name() const override { return "vpnkit"; }
    // 192.168.65.0/24 (vpnkit's fixed network; it has no IPv6 here: --ipv6 is discarded).
    std::vector<std::string> own_networks() const override { return {ipv4_network()}; }
    util::Result<std::string> configure_parent(const ChildNetns& ns) override;
    util::Status configure_child(const std::string& payload) override;

  private:
    std::string binary_;
};

util::Result<std::unique_ptr<Driver>> make_vpnkit_driver(const proto::Options& opts);

} // namespace rk::net
