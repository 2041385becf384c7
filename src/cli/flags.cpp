// Purpose: Go-flag-compatible parsing of the rootlesskit command line.
#include "cli/flags.hpp"

#include "util/strings.hpp"

#include <fmt/format.h>

namespace rk::cli {
using proto::Options;
using util::fail;
using util::plain_error;

const std::vector<FlagDef>& flag_table() {
    static const std::vector<FlagDef> t = {
        {"debug", "", "Misc", FlagKind::Bool, "debug mode", "false"},
        {"print-semver", "", "Misc", FlagKind::String,
         "print one component of the version as a decimal number [major, minor, patch]", ""},
        {"help", "h", "Misc", FlagKind::Bool, "show help", ""},
        {"version", "v", "Misc", FlagKind::Bool, "print the version", ""},

        {"copy-up", "", "Mount", FlagKind::Slice,
         "mount a writable tmpfs over a directory, keeping its content reachable, e.g. "
         "\"--copy-up=/etc\" (usually needed with a non-host network)",
         ""},
        {"copy-up-mode", "", "Mount", FlagKind::String, "copy-up mode [tmpfs+symlink]",
         "\"tmpfs+symlink\""},
        {"propagation", "", "Mount", FlagKind::String,
         "mount propagation of / [private, rprivate, shared, rshared, slave, rslave]",
         "\"rprivate\""},

        {"net", "", "Network", FlagKind::String,
         "network driver [host, none, auto, pasta, slirp4netns, vpnkit, lxc-user-nic, "
         "gvisor-tap-vsock (embedded libslirp)]",
         "\"host\""},
        {"mtu", "", "Network", FlagKind::Int,
         "MTU of a non-host network (0: the driver's default, 65520 for slirp4netns, pasta and "
         "gvisor-tap-vsock, 1500 for vpnkit and lxc-user-nic)",
         "0"},
        {"cidr", "", "Network", FlagKind::String,
         "CIDR of a slirp4netns, pasta or gvisor-tap-vsock network (default: 10.0.2.0/24)", ""},
        {"ifname", "", "Network", FlagKind::String,
         "network interface name (default: tap0 for pasta, slirp4netns and vpnkit; eth0 for "
         "lxc-user-nic)",
         ""},
        {"disable-host-loopback", "", "Network", FlagKind::Bool,
         "forbid connecting to the host's 127.0.0.1:* from the namespace", "false"},
        {"ipv6", "", "Network", FlagKind::Bool,
         "enable IPv6 routing (pasta, slirp4netns and gvisor-tap-vsock only; not about port "
         "forwarding) "
         "(experimental)",
         "false"},
        {"detach-netns", "", "Network", FlagKind::Bool, "detach the network namespace", "false"},
        {"socket-bypass", "", "Network", FlagKind::Bool,
         "make the command's TCP connections to destinations outside the namespace's networks "
         "from the host's network namespace (seccomp user notification; Linux 5.9+; see "
         "docs/socket-bypass.md) (experimental)",
         "false"},

        {"lxc-user-nic-binary", "", "Network [lxc-user-nic]", FlagKind::String,
         "path of the lxc-user-nic binary for --net=lxc-user-nic (default: the first of "
         "/usr/libexec/lxc, /usr/lib/<arch>-linux-gnu/lxc, /usr/lib/lxc that has it)",
         ""},
        {"lxc-user-nic-bridge", "", "Network [lxc-user-nic]", FlagKind::String,
         "bridge used by lxc-user-nic", "\"lxcbr0\""},
        {"pasta-binary", "", "Network [pasta]", FlagKind::String,
         "path of the pasta binary for --net=pasta", "\"pasta\""},
        {"slirp4netns-binary", "", "Network [slirp4netns]", FlagKind::String,
         "path of the slirp4netns binary for --net=slirp4netns", "\"slirp4netns\""},
        {"slirp4netns-sandbox", "", "Network [slirp4netns]", FlagKind::String,
         "run slirp4netns in a sandbox [auto, true, false]", "\"false\""},
        {"slirp4netns-seccomp", "", "Network [slirp4netns]", FlagKind::String,
         "run slirp4netns with a seccomp filter [auto, true, false]", "\"false\""},
        {"vpnkit-binary", "", "Network [vpnkit]", FlagKind::String,
         "path of the VPNKit binary for --net=vpnkit", "\"vpnkit\""},

        {"port-driver", "", "Port", FlagKind::String,
         "port driver for a non-host network [none, implicit, builtin, slirp4netns, "
         "gvisor-tap-vsock, pesto]",
         "\"none\""},
        {"publish", "p", "Port", FlagKind::Slice, "publish ports, e.g. \"127.0.0.1:8080:80/tcp\"",
         ""},
        {"source-ip-transparent", "", "Port", FlagKind::Bool,
         "let the builtin port driver keep the client's source IP (TCP)", "true"},
        {"source-ip-transparent-backend", "", "Port", FlagKind::String,
         "how --source-ip-transparent routes replies [auto, nft, iptables]; accepted for "
         "compatibility: every value uses socket marks and a policy rule, no packet filter",
         "\"auto\""},

        {"pidns", "", "Process", FlagKind::Bool, "create a PID namespace", "false"},
        {"cgroupns", "", "Process", FlagKind::Bool, "create a cgroup namespace", "false"},
        {"utsns", "", "Process", FlagKind::Bool, "create a UTS namespace", "false"},
        {"ipcns", "", "Process", FlagKind::Bool, "create an IPC namespace", "false"},
        {"reaper", "", "Process", FlagKind::String,
         "reap orphaned processes (requires --pidns) [auto, true, false]", "\"auto\""},
        {"evacuate-cgroup2", "", "Process", FlagKind::String,
         "move the processes of our cgroup into this sub-group (requires --pidns and "
         "--cgroupns)",
         ""},

        {"state-dir", "", "State", FlagKind::String, "state directory", ""},

        {"subid-source", "", "SubID", FlagKind::String,
         "where sub-IDs come from: \"dynamic\" runs getsubids, \"static\" reads "
         "/etc/subuid and /etc/subgid [auto, dynamic, static]",
         "\"auto\""},
    };
    return t;
}

namespace {

bool* bool_field(Options& o, std::string_view n) {
    if (n == "debug") return &o.debug;
    if (n == "disable-host-loopback") return &o.disable_host_loopback;
    if (n == "ipv6") return &o.ipv6;
    if (n == "detach-netns") return &o.detach_netns;
    if (n == "socket-bypass") return &o.socket_bypass;
    if (n == "source-ip-transparent") return &o.source_ip_transparent;
    if (n == "pidns") return &o.pidns;
    if (n == "cgroupns") return &o.cgroupns;
    if (n == "utsns") return &o.utsns;
    if (n == "ipcns") return &o.ipcns;
    return nullptr;
}

std::string* string_field(Options& o, std::string_view n) {
    if (n == "copy-up-mode") return &o.copy_up_mode;
    if (n == "propagation") return &o.propagation;
    if (n == "net") return &o.net;
    if (n == "cidr") return &o.cidr;
    if (n == "ifname") return &o.ifname;
    if (n == "lxc-user-nic-binary") return &o.lxc_user_nic_binary;
    if (n == "lxc-user-nic-bridge") return &o.lxc_user_nic_bridge;
    if (n == "pasta-binary") return &o.pasta_binary;
    if (n == "slirp4netns-binary") return &o.slirp4netns_binary;
    if (n == "slirp4netns-sandbox") return &o.slirp4netns_sandbox;
    if (n == "slirp4netns-seccomp") return &o.slirp4netns_seccomp;
    if (n == "vpnkit-binary") return &o.vpnkit_binary;
    if (n == "port-driver") return &o.port_driver;
    if (n == "source-ip-transparent-backend") return &o.source_ip_transparent_backend;
    if (n == "reaper") return &o.reaper;
    if (n == "evacuate-cgroup2") return &o.evacuate_cgroup2;
    if (n == "state-dir") return &o.state_dir;
    if (n == "subid-source") return &o.subid_source;
    return nullptr;
}

std::vector<std::string>* slice_field(Options& o, std::string_view n) {
    if (n == "copy-up") return &o.copy_up;
    if (n == "publish") return &o.publish;
    return nullptr;
}

} // namespace

util::Result<ParseResult> parse(const std::vector<std::string>& args) {
    ParseResult r;
    r.opts.lxc_user_nic_binary = proto::default_lxc_user_nic_binary();
    auto parsed = RK_TRY(parse_go_flags(flag_table(), args));
    bool help = false, version = false;
    for (const auto& [def, value] : parsed.flags) {
        std::string_view name = def->name;
        switch (def->kind) {
        case FlagKind::Bool:
            if (name == "help")
                help = value == "true";
            else if (name == "version")
                version = value == "true";
            else
                *bool_field(r.opts, name) = value == "true";
            break;
        case FlagKind::Int:
            r.opts.mtu = *parse_go_int(value);
            break; // the only int flag
        case FlagKind::Slice:
            for (auto part : util::split(value, ','))
                slice_field(r.opts, name)->emplace_back(util::trim(part));
            break;
        case FlagKind::String:
            if (name == "print-semver") {
                r.semver_part = value;
                r.action = Action::PrintSemver;
            } else {
                *string_field(r.opts, name) = value;
            }
            break;
        }
    }
    r.opts.command.assign(args.begin() + static_cast<std::ptrdiff_t>(parsed.next), args.end());
    if (help)
        r.action = Action::Help;
    else if (version)
        r.action = Action::Version;
    return r;
}

} // namespace rk::cli
