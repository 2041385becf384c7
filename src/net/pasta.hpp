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
    bool conf_path = false; // -c PATH, the control socket pesto talks to (passt 2026)
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
    // -T/-U none: no splice from the namespace's own loopback to the host's. Only where pasta
    // keeps -t auto working with it (see no_ns_to_host_forwarding).
    bool no_ns_to_host = false;
    std::string control_socket = {}; // -c PATH for --port-driver=pesto; "" for none
};
// Whether pasta's namespace-to-host loopback forwarding (-T/-U auto) can be turned off: always
// when --disable-host-loopback asks for it and inbound forwarding does not rely on -t auto;
// with --port-driver=implicit only on pastas that have --host-lo-to-ns-lo (2024-10 and later):
// older ones (Debian 12's) stop forwarding -t auto ports once any -T is given.
bool no_ns_to_host_forwarding(bool disable_host_loopback, bool implicit_ports,
                              bool host_lo_to_ns_lo);
// The helper's command line without argv[0] (spec 6.4), plus --pid for our death watch.
std::vector<std::string> pasta_argv(const PastaArgs& a);

class PastaDriver final : public UserModeDriver {
  public:
    PastaDriver(const proto::Options& opts, VirtualNet plan, std::string binary,
                PastaFeatures features)
        : UserModeDriver(opts, std::move(plan)), binary_(std::move(binary)), features_(features) {}

    std::string_view name() const override { return "pasta"; }
    // IPv4 only: with --ipv6 pasta gives the namespace the host's own addresses and routes.
    std::vector<std::string> own_networks() const override { return {ipv4_network()}; }
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

// pasta's control socket in the state dir (--port-driver=pesto).
std::string pasta_control_socket(const std::string& state_dir);

util::Result<std::unique_ptr<Driver>> make_pasta_driver(const proto::Options& opts);
util::Result<std::unique_ptr<Driver>> make_pasta_driver(const proto::Options& opts,
                                                        const PastaProbe& probe);

} // namespace rk::net
