// Purpose: option combinations checked in the parent before anything is created, in
// upstream's order: network flags, then the port driver, then process and mount options.
#include "cli/flags.hpp"
#include "net/driver.hpp"
#include "port/spec.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <map>

namespace rk::cli {
using util::fail;
using util::plain_error;

namespace {

bool one_of(std::string_view v, std::initializer_list<std::string_view> set) {
    return std::find(set.begin(), set.end(), v) != set.end();
}

util::Status validate_cidr(const std::string& cidr) {
    auto bad = [&] {
        return fail(
            plain_error(fmt::format("cidr must be like 10.0.2.0/24, not like {}", cidr),
                        "give the network address with a prefix length, e.g. --cidr=10.0.2.0/24"));
    };
    auto slash = cidr.find('/');
    if (slash == std::string::npos) return bad();
    in_addr a{};
    if (::inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1) return bad();
    auto len = util::parse_u64(std::string_view(cidr).substr(slash + 1));
    if (!len || *len > 32) return bad();
    uint32_t host = ntohl(a.s_addr);
    uint32_t mask = *len == 0 ? 0 : ~uint32_t{0} << (32 - *len);
    if ((host & ~mask) != 0) return bad();
    return {};
}

} // namespace

namespace {

util::Status validate_network(const proto::Options& o) {
    const auto& nets = net::driver_names();
    if (std::find(nets.begin(), nets.end(), o.net) == nets.end())
        return fail(plain_error("unknown network mode: " + o.net,
                                "use one of host, none, auto, pasta, slirp4netns, vpnkit, "
                                "lxc-user-nic, gvisor-tap-vsock"));
    if (o.mtu < 0 || o.mtu > 65521)
        return fail(plain_error(fmt::format("mtu must be <= 65521, got {}", o.mtu),
                                "use --mtu=0 for the driver's default, or a value up to 65521"));
    const bool hostlike = o.net == "host" || o.net == "none";
    if (!o.cidr.empty()) {
        if (!one_of(o.net, {"pasta", "slirp4netns", "gvisor-tap-vsock", "auto"}))
            return fail(plain_error("custom cidr is not supported for --net=" + o.net,
                                    "drop --cidr, or use --net=slirp4netns or --net=pasta"));
        RK_TRY(validate_cidr(o.cidr));
    }
    if (!o.ifname.empty()) {
        if (o.ifname.find('/') != std::string::npos)
            return fail(plain_error("ifname must not contain \"/\": " + o.ifname,
                                    "give an interface name, e.g. --ifname=tap0"));
        if (hostlike)
            return fail(
                plain_error("ifname cannot be specified for --net=" + o.net, "drop --ifname"));
    }
    if (o.socket_bypass && o.net == "host")
        // The command already is in the host's network: nothing could be bypassed, and every
        // connect() would still pay the trap.
        return fail(plain_error("--socket-bypass has nothing to bypass with --net=host (the "
                                "command already uses the host's network)",
                                "drop --socket-bypass, or use a network driver, e.g. "
                                "--net=slirp4netns"));
    if (hostlike && o.mtu != 0) util::log::warn("--mtu is discarded for --net={}", o.net);
    if (o.ipv6) {
        // gvisor-tap-vsock: upstream refuses --ipv6; our embedded network has it.
        if (!one_of(o.net, {"slirp4netns", "pasta", "gvisor-tap-vsock", "auto"}))
            util::log::warn("--ipv6 is discarded for --net={}", o.net);
        else
            util::log::warn("ipv6 is experimental");
    }
    if (o.net == "lxc-user-nic" && !o.disable_host_loopback)
        util::log::warn("--disable-host-loopback is implied for --net=lxc-user-nic: the host's "
                        "127.0.0.1 is never reachable from the namespace");
    else if (!hostlike && !o.disable_host_loopback)
        util::log::warn("specifying --disable-host-loopback is highly recommended to prohibit "
                        "connecting to 127.0.0.1:* on the host namespace");
    return {};
}

// Port driver x network combinations, in upstream's order; the first broken one is the error.
struct PairRule {
    bool (*broken)(const proto::Options&);
    const char* message;
    const char* fix;
};
constexpr PairRule kPortNetRules[] = {
    {[](const proto::Options& o) {
         return o.net == "pasta" && !one_of(o.port_driver, {"none", "implicit", "pesto"});
     },
     "network \"pasta\" requires port driver \"none\", \"implicit\" or \"pesto\"",
     "use --port-driver=implicit (pasta forwards the ports itself)"},
    {[](const proto::Options& o) { return o.port_driver == "pesto" && o.net != "pasta"; },
     "port driver requires pasta network", "add --net=pasta"},
    {[](const proto::Options& o) {
         return o.net == "none" && !one_of(o.port_driver, {"none", "builtin"});
     },
     "network \"none\" requires port driver \"none\" or \"builtin\"", "use --port-driver=builtin"},
    {[](const proto::Options& o) {
         return o.port_driver == "implicit" && !one_of(o.net, {"pasta", "auto"});
     },
     "port driver requires pasta network", "add --net=pasta"},
    {[](const proto::Options& o) {
         return o.port_driver == "slirp4netns" && o.net != "slirp4netns";
     },
     "port driver requires slirp4netns network", "add --net=slirp4netns"},
    {[](const proto::Options& o) {
         return o.port_driver == "gvisor-tap-vsock" && !one_of(o.net, {"gvisor-tap-vsock", "auto"});
     },
     "port driver requires gvisor-tap-vsock network", "add --net=gvisor-tap-vsock"},
    {[](const proto::Options& o) {
         return one_of(o.port_driver, {"builtin", "gvisor-tap-vsock"}) && o.net == "host";
     },
     "port driver requires non-host network", "add --net=none (or another network driver)"},
};

util::Status validate_ports(const proto::Options& o) {
    if (!one_of(o.port_driver,
                {"none", "implicit", "builtin", "slirp4netns", "gvisor-tap-vsock", "pesto"}))
        return fail(plain_error("unknown port driver: " + o.port_driver,
                                "use one of none, implicit, builtin, slirp4netns, "
                                "gvisor-tap-vsock, pesto"));
    for (const auto& rule : kPortNetRules)
        if (rule.broken(o)) return fail(plain_error(rule.message, rule.fix));
    if (!one_of(o.source_ip_transparent_backend, {"auto", "nft", "iptables"}))
        return fail(plain_error("unknown --source-ip-transparent-backend: " +
                                    o.source_ip_transparent_backend,
                                "use auto, nft or iptables"));
    if (o.port_driver == "none" && !o.publish.empty())
        return fail(plain_error("port driver \"none\" does not support publishing ports",
                                "add --port-driver=builtin and a non-host --net"));
    // Every -p spec must parse and not conflict with an earlier one (checked even where the
    // driver ignores them, as upstream does for --port-driver=implicit).
    std::map<int, port::PortSpec> seen;
    for (const auto& p : o.publish) {
        auto spec = RK_TRY(port::parse_port_spec(p));
        RK_TRY_CTX(port::validate_port_spec(spec, seen,
                                            o.port_driver == "builtin"
                                                ? port::AnyParentPort::Allowed
                                                : port::AnyParentPort::Refused),
                   "invalid -p " + p);
        seen.emplace(static_cast<int>(seen.size()) + 1, spec);
    }
    return {};
}

util::Status validate_process(const proto::Options& o) {
    if (!one_of(o.reaper, {"auto", "true", "false"}))
        return fail(plain_error("unknown reaper mode: " + o.reaper, "use auto, true or false"));
    if (o.reaper == "true" && !o.pidns)
        return fail(plain_error("reaper requires --pidns", "add --pidns"));
    if (!o.evacuate_cgroup2.empty()) {
        if (o.evacuate_cgroup2.find('/') != std::string::npos || o.evacuate_cgroup2 == "." ||
            o.evacuate_cgroup2 == "..")
            return fail(plain_error("--evacuate-cgroup2 must be a plain group name, got " +
                                        o.evacuate_cgroup2,
                                    "e.g. --evacuate-cgroup2=rootlesskit"));
        if (!o.cgroupns)
            return fail(plain_error("evacuate-cgroup2 requires --cgroupns", "add --cgroupns"));
        if (!o.pidns) return fail(plain_error("evacuate-cgroup2 requires --pidns", "add --pidns"));
    }
    if (!one_of(o.subid_source, {"auto", "dynamic", "static"}))
        return fail(plain_error(
            fmt::format("failed to setup UID/GID map: unknown subid source \"{}\"", o.subid_source),
            "use --subid-source=auto, dynamic or static"));
    return {};
}

util::Status validate_mounts(const proto::Options& o) {
    if (o.copy_up_mode != "tmpfs+symlink")
        return fail(plain_error("unknown copy-up mode: " + o.copy_up_mode,
                                "the only mode is tmpfs+symlink"));
    if (!one_of(o.propagation, {"private", "rprivate", "shared", "rshared", "slave", "rslave"}))
        return fail(plain_error(fmt::format("unknown propagation mode \"{}\"", o.propagation),
                                "use private, rprivate, shared, rshared, slave or rslave"));
    if (one_of(o.propagation, {"shared", "rshared"}) && !o.copy_up.empty())
        return fail(plain_error("propagation " + o.propagation +
                                    " does not support copy-up driver tmpfs+symlink",
                                "use --propagation=rslave with --copy-up"));
    for (auto& d : o.copy_up) {
        if (d.empty() || d[0] != '/')
            return fail(plain_error(fmt::format("--copy-up needs an absolute path, got \"{}\"", d),
                                    "e.g. --copy-up=/etc"));
        if (d == "/tmp" || d == "/tmp/")
            return fail(plain_error("/tmp cannot be copied up",
                                    "/tmp is already writable; drop --copy-up=/tmp"));
        if (d.find_first_not_of('/') == std::string::npos)
            return fail(plain_error("/ cannot be copied up", "copy up sub-directories instead"));
    }
    return {};
}

} // namespace

// Upstream's order: the command, network flags, the port driver, process and mount options.
util::Status validate(proto::Options& o) {
    if (o.command.empty())
        return fail(
            plain_error("no command specified", "usage: rootlesskit [flags] COMMAND [ARGS...]"));
    RK_TRY(validate_network(o));
    RK_TRY(validate_ports(o));
    RK_TRY(validate_process(o));
    RK_TRY(validate_mounts(o));
    return {};
}

} // namespace rk::cli
