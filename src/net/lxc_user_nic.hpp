// Purpose: --net=lxc-user-nic - LXC's setuid helper moves one end of a veth pair, whose other
// end it attaches to a host bridge (lxcbr0), into the namespace; the child takes an address
// by DHCP from the bridge's server (lxc-net's dnsmasq) and renews it. Kernel networking: the
// fastest driver, but it needs root's set-up (/etc/lxc/lxc-usernet, the bridge).
#pragma once

#include "net/dhcp.hpp"
#include "net/driver.hpp"

#include <mutex>

namespace rk::net {

// The first of upstream's default locations that exists, or "".
std::string default_lxc_user_nic_binary();

// `<binary> create /dev/null dummy <pid> veth <bridge> <ifname>`, without argv[0] (spec 6.6).
std::vector<std::string> lxc_user_nic_argv(pid_t pid, const std::string& bridge,
                                           const std::string& ifname);

class LxcUserNicDriver final : public Driver {
  public:
    LxcUserNicDriver(const proto::Options& opts, std::string binary)
        : opts_(opts), binary_(std::move(binary)),
          ifname_(opts.ifname.empty() ? "eth0" : opts.ifname),
          mtu_(opts.mtu > 0 ? static_cast<unsigned>(opts.mtu) : 1500) {}

    std::string_view name() const override { return "lxc-user-nic"; }
    bool new_netns() const override { return true; }
    bool virtual_nic() const override { return true; }
    util::Result<std::string> configure_parent(const ChildNetns& ns) override;
    util::Status configure_child(const std::string& payload) override;
    std::vector<std::string> resolvers() const override;
    // The address is the DHCP server's choice, known only inside (upstream reports the same).
    std::optional<DriverInfo> info() const override {
        return DriverInfo{"lxc-user-nic", {}, {}, true};
    }

  private:
    const proto::Options& opts_;
    std::string binary_;
    std::string ifname_;
    unsigned mtu_;
    mutable std::mutex mu_;
    dhcp::Lease lease_; // child side, under mu_
};

util::Result<std::unique_ptr<Driver>> make_lxc_user_nic_driver(const proto::Options& opts);

} // namespace rk::net
