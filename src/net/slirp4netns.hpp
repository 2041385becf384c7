// Purpose: --net=slirp4netns - the slirp4netns helper (libslirp in a process of its own)
// attaches a tap device to the child's network namespace; the child configures it over
// netlink.
#pragma once

#include "net/helper.hpp"

namespace rk::net {

// What a slirp4netns binary supports, from its --help text (spec 6.3).
struct Slirp4netnsFeatures {
    bool netns_type = false; // >= 0.4.0
    bool ipv6 = false;
    bool cidr = false;
    bool disable_host_loopback = false;
    bool api_socket = false;
    bool sandbox = false;
    bool seccomp = false;
};
Slirp4netnsFeatures parse_slirp4netns_help(const std::string& help);

// The helper's command line, without argv[0] (spec 6.3; tested against upstream's).
struct Slirp4netnsArgs {
    unsigned mtu;
    bool disable_host_loopback;
    std::string cidr; // empty: slirp4netns' default
    std::string api_socket;
    bool sandbox, seccomp, ipv6;
    pid_t child_pid;
    std::string ifname;
    // --detach-netns: the namespace's path; the helper joins /proc/<child_pid>/ns/user and it
    // instead of the child's own namespaces.
    std::string detached_netns = {};
};
std::vector<std::string> slirp4netns_argv(const Slirp4netnsArgs& a);

// The resolved helper: its path and the sandbox/seccomp choices.
struct Slirp4netnsHelper {
    std::string binary;
    bool sandbox = false;
    bool seccomp = false;
};

class Slirp4netnsDriver final : public UserModeDriver {
  public:
    Slirp4netnsDriver(const proto::Options& opts, VirtualNet plan, Slirp4netnsHelper helper)
        : UserModeDriver(opts, std::move(plan)), helper_(std::move(helper)) {}

    std::string_view name() const override { return "slirp4netns"; }
    util::Result<std::string> configure_parent(const ChildNetns& ns) override;
    util::Status prepare_child() override;
    util::Status configure_child(const std::string& payload) override;

  private:
    Slirp4netnsHelper helper_;
};

util::Result<std::unique_ptr<Driver>> make_slirp4netns_driver(const proto::Options& opts);

} // namespace rk::net
