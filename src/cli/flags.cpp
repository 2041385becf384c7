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

        {"net", "", "Network", FlagKind::String, "network driver [host, none]", "\"host\""},
        {"mtu", "", "Network", FlagKind::Int,
         "MTU of a non-host network (0: the driver's default, 65520 for pasta and slirp4netns, "
         "1500 for others)",
         "0"},
        {"cidr", "", "Network", FlagKind::String,
         "CIDR of a pasta or slirp4netns network (default: 10.0.2.0/24)", ""},
        {"ifname", "", "Network", FlagKind::String,
         "network interface name (default: tap0 for pasta, slirp4netns and vpnkit; eth0 for "
         "lxc-user-nic)",
         ""},
        {"disable-host-loopback", "", "Network", FlagKind::Bool,
         "forbid connecting to the host's 127.0.0.1:* from the namespace", "false"},
        {"ipv6", "", "Network", FlagKind::Bool,
         "enable IPv6 routing (pasta and slirp4netns only; not about port forwarding) "
         "(experimental)",
         "false"},
        {"detach-netns", "", "Network", FlagKind::Bool, "detach the network namespace", "false",
         true},

        {"lxc-user-nic-binary", "", "Network [lxc-user-nic]", FlagKind::String,
         "path of the lxc-user-nic binary for --net=lxc-user-nic", "", true},
        {"lxc-user-nic-bridge", "", "Network [lxc-user-nic]", FlagKind::String,
         "bridge used by lxc-user-nic", "\"lxcbr0\"", true},
        {"pasta-binary", "", "Network [pasta]", FlagKind::String,
         "path of the pasta binary for --net=pasta", "\"pasta\"", true},
        {"slirp4netns-binary", "", "Network [slirp4netns]", FlagKind::String,
         "path of the slirp4netns binary for --net=slirp4netns", "\"slirp4netns\"", true},
        {"slirp4netns-sandbox", "", "Network [slirp4netns]", FlagKind::String,
         "run slirp4netns in a sandbox [auto, true, false]", "\"false\"", true},
        {"slirp4netns-seccomp", "", "Network [slirp4netns]", FlagKind::String,
         "run slirp4netns with a seccomp filter [auto, true, false]", "\"false\"", true},
        {"vpnkit-binary", "", "Network [vpnkit]", FlagKind::String,
         "path of the VPNKit binary for --net=vpnkit", "\"vpnkit\"", true},

        {"port-driver", "", "Port", FlagKind::String, "port driver for a non-host network [none]",
         "\"none\""},
        {"publish", "p", "Port", FlagKind::Slice, "publish ports, e.g. \"127.0.0.1:8080:80/tcp\"",
         ""},
        {"source-ip-transparent", "", "Port", FlagKind::Bool,
         "let the builtin port driver keep the client's source IP (TCP)", "true", true},

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

const FlagDef* find_flag(std::string_view name) {
    for (const auto& f : flag_table())
        if (f.name == name || (!f.alias.empty() && f.alias == name)) return &f;
    return nullptr;
}

bool* bool_field(Options& o, std::string_view n) {
    if (n == "debug") return &o.debug;
    if (n == "disable-host-loopback") return &o.disable_host_loopback;
    if (n == "ipv6") return &o.ipv6;
    if (n == "detach-netns") return &o.detach_netns;
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

util::Result<bool> parse_go_bool(std::string_view v) {
    if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
    if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False")
        return false;
    return fail(plain_error("parse error"));
}

util::Result<long long> parse_go_int(std::string_view v) {
    bool neg = false;
    if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
        neg = v[0] == '-';
        v.remove_prefix(1);
    }
    unsigned base = 10;
    bool prefixed = false;
    if (v.size() >= 2 && v[0] == '0') {
        char c = static_cast<char>(v[1] | 0x20);
        if (c == 'x')
            base = 16, prefixed = true;
        else if (c == 'o')
            base = 8, prefixed = true;
        else if (c == 'b')
            base = 2, prefixed = true;
        else
            base = 8; // leading zero: octal, as Go's base 0
        if (prefixed) v.remove_prefix(2);
    }
    if (v.empty()) return fail(plain_error("parse error"));
    unsigned long long acc = 0;
    bool any_digit = false, last_underscore = false;
    bool prev_ok_for_underscore = prefixed; // Go: '_' only after a base prefix or a digit
    for (char c : v) {
        if (c == '_') {
            if (!prev_ok_for_underscore) return fail(plain_error("parse error"));
            last_underscore = true;
            prev_ok_for_underscore = false;
            continue;
        }
        last_underscore = false;
        unsigned d;
        if (c >= '0' && c <= '9')
            d = static_cast<unsigned>(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = static_cast<unsigned>((c | 0x20) - 'a' + 10);
        else
            return fail(plain_error("parse error"));
        if (d >= base) return fail(plain_error("parse error"));
        if (acc > (static_cast<unsigned long long>(INT64_MAX) + 1 - d) / base)
            return fail(plain_error("value out of range"));
        acc = acc * base + d;
        any_digit = true;
        prev_ok_for_underscore = true;
    }
    if (!any_digit || last_underscore) return fail(plain_error("parse error"));
    if (!neg && acc > static_cast<unsigned long long>(INT64_MAX))
        return fail(plain_error("value out of range"));
    return neg ? static_cast<long long>(0 - acc) : static_cast<long long>(acc);
}

util::Result<ParseResult> parse(const std::vector<std::string>& args) {
    ParseResult r;
    r.opts.lxc_user_nic_binary = proto::default_lxc_user_nic_binary();
    bool help = false, version = false;
    size_t i = 0;
    for (; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a.size() < 2 || a[0] != '-') break; // first non-flag (or "-") starts the command
        size_t dashes = 1;
        if (a[1] == '-') {
            dashes = 2;
            if (a.size() == 2) { // "--" terminates the flags and is consumed
                ++i;
                break;
            }
        }
        std::string_view body = a.substr(dashes);
        if (body.empty() || body[0] == '-' || body[0] == '=')
            return fail(plain_error(fmt::format("bad flag syntax: {}", a)));
        std::string_view name = body, value;
        bool has_value = false;
        if (auto eq = body.find('='); eq != std::string_view::npos) {
            name = body.substr(0, eq);
            value = body.substr(eq + 1);
            has_value = true;
        }
        const FlagDef* f = find_flag(name);
        if (!f)
            return fail(plain_error(fmt::format("flag provided but not defined: -{}", name),
                                    "see 'rootlesskit --help'"));
        if (f->kind == FlagKind::Bool) {
            bool b = true;
            if (has_value) {
                auto pb = parse_go_bool(value);
                if (!pb)
                    return fail(plain_error(fmt::format(
                        "invalid boolean value \"{}\" for -{}: parse error", value, name)));
                b = *pb;
            }
            if (f->name == "help")
                help = b;
            else if (f->name == "version")
                version = b;
            else
                *bool_field(r.opts, f->name) = b;
            continue;
        }
        if (!has_value) {
            if (i + 1 >= args.size())
                return fail(plain_error(fmt::format("flag needs an argument: -{}", name)));
            value = args[++i];
        }
        switch (f->kind) {
        case FlagKind::Int: {
            auto v = parse_go_int(value);
            if (!v)
                return fail(plain_error(fmt::format("invalid value \"{}\" for flag -{}: {}", value,
                                                    name, v.error().context)));
            r.opts.mtu = *v; // the only int flag
            break;
        }
        case FlagKind::Slice:
            for (auto part : util::split(value, ','))
                slice_field(r.opts, f->name)->emplace_back(util::trim(part));
            break;
        case FlagKind::String:
            if (f->name == "print-semver") {
                r.semver_part = std::string(value);
                r.action = Action::PrintSemver;
            } else {
                *string_field(r.opts, f->name) = std::string(value);
            }
            break;
        case FlagKind::Bool:
            break;
        }
    }
    r.opts.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    if (help)
        r.action = Action::Help;
    else if (version)
        r.action = Action::Version;
    return r;
}

} // namespace rk::cli
