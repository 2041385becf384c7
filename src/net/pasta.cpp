// Purpose: --net=pasta (see pasta.hpp).
//
// Theory of Operation
//   make: find the binary; `pasta --help` must list --config-net (what this driver relies on);
//   the other options are used when listed. `--host-lo-to-ns-lo --version` succeeding means
//   the newer loopback mapping is there (spec 6.4).
//   configure_parent: unlike upstream (pasta daemonizes; old pastas then outlive a killed
//   rootlesskit), run it in the foreground as a supervised helper (helper.hpp: PDEATHSIG,
//   pidfd death watch, errors quote its output). It joins the child's namespaces, creates and
//   configures the tap (address, route, MTU), then writes its PID file: `--pid` names a FIFO
//   in the state dir, so that write is our readiness signal (the FIFO is removed at once).
//   configure_child: only lo (pasta configures the tap).
#include "net/pasta.hpp"

#include "sys/fs.hpp"
#include "sys/netlink.hpp"
#include "sys/process.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rk::net {
using util::fail;
using util::plain_error;

PastaFeatures parse_pasta_help(const std::string& help) {
    auto has = [&](std::string_view flag) { return help.find(flag) != std::string::npos; };
    return {
        has("--config-net"), has("--ipv4-only"), has("--no-map-gw"), has("--dns-forward"), false,
        has("--conf-path")};
}

std::vector<std::string> pasta_argv(const PastaArgs& a) {
    std::vector<std::string> v{"--stderr",
                               "--ns-ifname=" + a.ifname,
                               "--mtu=" + std::to_string(a.mtu),
                               "--config-net",
                               "--address=" + a.child_ip,
                               "--netmask=" + std::to_string(a.prefix),
                               "--gateway=" + a.gateway,
                               "--dns-forward=" + a.dns};
    // --no-map-gw closes the gateway's path to the host's loopback; pasta's default
    // namespace-to-host forwarding (-T/-U auto) still splices connections to the namespace's
    // own 127.0.0.1/::1 to the host's loopback: that goes too (upstream #612).
    if (a.disable_host_loopback) v.emplace_back("--no-map-gw");
    if (a.no_ns_to_host) {
        v.emplace_back("--tcp-ns=none");
        v.emplace_back("--udp-ns=none");
    }
    if (!a.ipv6) v.emplace_back("--ipv4-only");
    v.emplace_back(a.implicit_ports ? "--tcp-ports=auto" : "--tcp-ports=none");
    v.emplace_back(a.implicit_ports ? "--udp-ports=auto" : "--udp-ports=none");
    if (a.host_lo_to_ns_lo) v.emplace_back("--host-lo-to-ns-lo");
    if (!a.pid_file.empty()) v.emplace_back("--pid=" + a.pid_file);
    if (!a.control_socket.empty()) v.emplace_back("--conf-path=" + a.control_socket);
    if (a.detached_netns.empty()) {
        v.push_back(std::to_string(a.child_pid));
    } else {
        v.push_back(fmt::format("--userns=/proc/{}/ns/user", a.child_pid));
        v.push_back("--netns=" + a.detached_netns);
    }
    return v;
}

bool no_ns_to_host_forwarding(bool disable_host_loopback, bool implicit_ports,
                              bool host_lo_to_ns_lo) {
    return disable_host_loopback && (!implicit_ports || host_lo_to_ns_lo);
}

util::Result<PastaProbe> probe_pasta(const proto::Options& opts) {
    auto path =
        RK_TRY(find_helper_binary("pasta", opts.pasta_binary, "install it (apt-get install passt)",
                                  "or use --net=slirp4netns"));
    // Both probes at once: start-up waits for one exec, not two.
    auto h = RK_TRY(sys::spawn_helper({path, "--help"}));
    auto probe = RK_TRY(sys::spawn_helper({path, "--host-lo-to-ns-lo", "--version"}));
    auto help = RK_TRY(sys::finish_helper(h));
    bool host_lo_to_ns_lo = RK_TRY(sys::finish_helper(probe)).ok();
    PastaFeatures f = parse_pasta_help(help.output);
    f.host_lo_to_ns_lo = host_lo_to_ns_lo;
    if (!f.config_net || !f.dns_forward || !f.no_map_gw || !f.ipv4_only) {
        // Some builds lose the end of --help when it goes to a pipe (Debian 13's passt
        // 2025_05_03 exits without flushing stdout at 4 KiB): ask for the flags themselves,
        // with --version last (pasta exits there once the flags before it were accepted).
        auto flags = RK_TRY(sys::spawn_helper({path, "--config-net", "--no-map-gw", "--ipv4-only",
                                               "--dns-forward=10.0.2.3", "--version"}));
        if (RK_TRY(sys::finish_helper(flags)).ok())
            f.config_net = f.dns_forward = f.no_map_gw = f.ipv4_only = true;
    }
    if (!f.config_net)
        return fail(plain_error(fmt::format("{} does not support --config-net", path),
                                "install a newer passt (2023 or later)"));
    if (!f.dns_forward || !f.no_map_gw || !f.ipv4_only)
        return fail(
            plain_error(fmt::format("{} lacks --dns-forward, --no-map-gw or --ipv4-only", path),
                        "install a newer passt"));
    // (the pesto client itself is the port driver's check: port/registry)
    if (opts.port_driver == "pesto" && !f.conf_path)
        return fail(plain_error(
            fmt::format("{} has no control socket (-c), which --port-driver=pesto needs", path),
            "install passt 2026_05_07 or newer, or use --port-driver=implicit"));
    return PastaProbe{path, f};
}

std::string pasta_control_socket(const std::string& state_dir) {
    return state_dir + "/.pasta.sock";
}

util::Result<std::unique_ptr<Driver>> make_pasta_driver(const proto::Options& opts) {
    return make_pasta_driver(opts, RK_TRY(probe_pasta(opts)));
}

util::Result<std::unique_ptr<Driver>> make_pasta_driver(const proto::Options& opts,
                                                        const PastaProbe& p) {
    auto plan = RK_TRY(plan_virtual_net(opts, 65520, 2, 3));
    return std::unique_ptr<Driver>(new PastaDriver(opts, std::move(plan), p.binary, p.features));
}

util::Result<std::string> PastaDriver::configure_parent(const ChildNetns& ns) {
    // pasta writes its PID file once the namespace is configured: a FIFO turns that into our
    // readiness signal. Read end opened first (non-blocking), so pasta's open does not block.
    std::string fifo = ns.state_dir + "/.pasta.pid";
    if (::mkfifo(fifo.c_str(), 0600) != 0) return fail(util::sys_error("mkfifo " + fifo));
    util::Defer remove_fifo([&] { ::unlink(fifo.c_str()); });
    util::Fd ready(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!ready) return fail(util::sys_error("open " + fifo));
    PastaArgs a{
        plan_.ifname, plan_.mtu, plan_.child_ip, plan_.gateway, plan_.dns.front(), plan_.prefix,
        opts_.disable_host_loopback, opts_.ipv6, opts_.port_driver == "implicit",
        // Only for implicit ports (a loopback-only server inside, Docker's -p 127.0.0.1):
        // pesto's forwards must reach the namespace's address, where clients that
        // honour disallowLoopbackChildIP (Docker) listen, from loopback clients too.
        features_.host_lo_to_ns_lo && opts_.port_driver == "implicit", fifo, ns.pid, ns.detached};
    if (opts_.port_driver == "pesto")
        a.control_socket = control_socket_ = pasta_control_socket(ns.state_dir);
    bool implicit = opts_.port_driver == "implicit";
    a.no_ns_to_host =
        no_ns_to_host_forwarding(opts_.disable_host_loopback, implicit, features_.host_lo_to_ns_lo);
    if (opts_.disable_host_loopback && !a.no_ns_to_host)
        util::log::warn(
            "{} is too old to close its path from the namespace's 127.0.0.1 to the host's "
            "loopback together with --port-driver=implicit, so --disable-host-loopback only "
            "covers the gateway; install passt 2024_10_30 or newer, or use --port-driver=builtin",
            binary_);
    std::vector<std::string> argv{binary_, "--foreground"};
    for (auto& s : pasta_argv(a))
        argv.push_back(std::move(s));
    proc_ = RK_TRY(start_helper("pasta", std::move(argv)));
    RK_TRY(await_ready(proc_, ready.get(), std::chrono::seconds(30)));
    return std::string();
}

util::Status PastaDriver::configure_child(const std::string&) {
    return sys::netlink::loopback_up(); // pasta configured the tap itself
}

} // namespace rk::net
