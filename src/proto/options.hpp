// Purpose: the parsed rootlesskit command line - the contract shared by the parent and the
// child halves (the child is a clone of the parent, so it sees the same Options).
#pragma once

#include <string>
#include <vector>

namespace rk::proto {

enum class SubidSource { Auto, Dynamic, Static };
enum class Reaper { Auto, On, Off };

struct Options {
    // Misc
    bool debug = false;
    // Mount
    std::vector<std::string> copy_up;
    std::string copy_up_mode = "tmpfs+symlink";
    std::string propagation = "rprivate";
    // Network
    std::string net = "host";
    long long mtu = 0;
    std::string cidr;
    std::string ifname;
    bool disable_host_loopback = false;
    bool ipv6 = false;
    bool detach_netns = false;
    bool socket_bypass = false;
    std::string lxc_user_nic_binary;
    std::string lxc_user_nic_bridge = "lxcbr0";
    std::string pasta_binary = "pasta";
    std::string slirp4netns_binary = "slirp4netns";
    std::string slirp4netns_sandbox = "false";
    std::string slirp4netns_seccomp = "false";
    std::string vpnkit_binary = "vpnkit";
    // Port
    std::string port_driver = "none";
    std::vector<std::string> publish;
    bool source_ip_transparent = true;
    std::string source_ip_transparent_backend = "auto"; // validated, otherwise unused (flags.cpp)
    // Process
    bool pidns = false;
    bool cgroupns = false;
    bool utsns = false;
    bool ipcns = false;
    std::string reaper = "auto";
    std::string evacuate_cgroup2;
    // State
    std::string state_dir;
    // SubID
    std::string subid_source = "auto";

    // The target command (everything after the flags).
    std::vector<std::string> command;

    // Derived during validation.
    bool reaper_enabled() const { return reaper == "true" || (reaper == "auto" && pidns); }
};

// Default --lxc-user-nic-binary: the first of the distro locations that exists, else "".
std::string default_lxc_user_nic_binary();

} // namespace rk::proto
