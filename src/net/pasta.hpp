// Purpose: --net=pasta - the pasta helper (passt's namespace mode) attaches a tap device to the
// child's network namespace and configures it itself (--config-net); with
// --port-driver=implicit it also forwards every port a process listens on inside.
#pragma once

#include "net/helper.hpp"

namespace rk::net {

// What a pasta binary supports, probed (not read from its version string: Debian 12's prints
// "unknown version").
struct PastaFeatures {
    bool config_net = false;
    bool ipv4_only = false;
    bool no_map_gw = false;
    bool dns_forward = false;
    bool host_lo_to_ns_lo = false;
};
PastaFeatures parse_pasta_help(const std::string& help);

struct PastaArgs {
    std::string ifname;
    unsigned mtu;
    std::string child_ip, gateway, dns;
    int prefix;
    bool disable_host_loopback, ipv6, implicit_ports, host_lo_to_ns_lo;
    std::string pid_file;
    pid_t child_pid;
    std::string detached_netns = {}; // as for slirp4netns
};
// The helper's command line without argv[0] (spec 6.4), plus --pid for our death watch.
std::vector<std::string> pasta_argv(const PastaArgs& a);

class PastaDriver final : public UserModeDriver {
  public:
    PastaDriver(const proto::Options& opts, VirtualNet plan, std::string binary,
                PastaFeatures features)
        : UserModeDriver(opts, std::move(plan)), binary_(std::move(binary)), features_(features) {}

    std::string_view name() const override { return "pasta"; }
    util::Result<std::string> configure_parent(const ChildNetns& ns) override;
    util::Status configure_child(const std::string& payload) override;

  private:
    std::string binary_;
    PastaFeatures features_;
};

// The binary and what it supports; an error if it is missing or unusable.
struct PastaProbe {
    std::string binary;
    PastaFeatures features;
};
util::Result<PastaProbe> probe_pasta(const proto::Options& opts);

util::Result<std::unique_ptr<Driver>> make_pasta_driver(const proto::Options& opts);
util::Result<std::unique_ptr<Driver>> make_pasta_driver(const proto::Options& opts,
                                                        const PastaProbe& probe);

} // namespace rk::net
