// Purpose: --net=slirp4netns (see slirp4netns.hpp).
//
// Theory of Operation
//   make: find the binary and probe its --help for features (>= 0.4.0 has --netns-type), so a
//   missing or old helper fails before anything is created.
//   prepare_child: the child makes tap0 a persistent device first (see vnet.hpp).
//   configure_parent: start `slirp4netns --mtu M -r 3 ... <childpid> <ifname>` (with
//   --detach-netns: `--userns-path=... --netns-type=path <netns> <ifname>`) as a supervised
//   helper (helper.hpp) and wait until it writes to fd 3 (it has joined the namespace and
//   attached to the tap device), it dies (its last output line is the error), or 30 s pass.
//   configure_child: lo up, then MTU, up, address and default route of the tap over netlink.
#include "net/slirp4netns.hpp"

#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace rk::net {
using util::fail;
using util::plain_error;

namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(30);

bool kernel_has_seccomp_filter() {
    if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) return false;
    // With a NULL filter the kernel answers EFAULT if it supports filters, EINVAL if not.
    return !(::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, nullptr, 0, 0) < 0 && errno == EINVAL);
}

struct Resolved {
    std::string binary;
    Slirp4netnsFeatures features;
};

util::Result<Resolved> probe(const proto::Options& opts) {
    auto path = RK_TRY(find_helper_binary("slirp4netns", opts.slirp4netns_binary,
                                          "install it (apt-get install slirp4netns)",
                                          "or use --net=pasta or --net=gvisor-tap-vsock"));
    auto h = RK_TRY(sys::spawn_helper({path, "--help"}));
    auto r = RK_TRY(sys::finish_helper(h));
    if (!r.ok())
        return fail(plain_error(fmt::format("\"{} --help\" failed ({}): {}", path,
                                            sys::describe_wait_status(r.status),
                                            last_output_line(r.output))));
    Resolved res{path, parse_slirp4netns_help(r.output)};
    if (!res.features.netns_type)
        return fail(plain_error(fmt::format("{} seems older than v0.4.0", path),
                                "install slirp4netns v0.4.0 or later"));
    return res;
}

// --slirp4netns-sandbox / --slirp4netns-seccomp: auto, true, false (or "").
util::Result<bool> resolve_mode(const std::string& flag, const std::string& mode, bool supported,
                                const char* why_unsupported) {
    if (mode.empty() || mode == "false") return false;
    if (mode == "auto") return supported;
    if (mode == "true") {
        if (!supported)
            return fail(plain_error(fmt::format("--{}=true: {}", flag, why_unsupported),
                                    fmt::format("use --{}=auto or false", flag)));
        return true;
    }
    return fail(
        plain_error(fmt::format("unsupported {} mode: {}", flag, mode), "use auto, true or false"));
}

} // namespace

Slirp4netnsFeatures parse_slirp4netns_help(const std::string& help) {
    auto has = [&](std::string_view flag) { return help.find(flag) != std::string::npos; };
    return {has("--netns-type"),    has("--enable-ipv6"),
            has("--cidr"),          has("--disable-host-loopback"),
            has("--api-socket"),    has("--enable-sandbox"),
            has("--enable-seccomp")};
}

std::vector<std::string> slirp4netns_argv(const Slirp4netnsArgs& a) {
    std::vector<std::string> v{"--mtu", std::to_string(a.mtu), "-r", "3"};
    if (a.disable_host_loopback) v.emplace_back("--disable-host-loopback");
    if (!a.cidr.empty()) v.insert(v.end(), {"--cidr", a.cidr});
    if (!a.api_socket.empty()) v.insert(v.end(), {"--api-socket", a.api_socket});
    if (a.sandbox) v.emplace_back("--enable-sandbox");
    if (a.seccomp) v.emplace_back("--enable-seccomp");
    if (a.ipv6) v.emplace_back("--enable-ipv6");
    if (a.detached_netns.empty()) {
        v.push_back(std::to_string(a.child_pid));
    } else {
        v.push_back(fmt::format("--userns-path=/proc/{}/ns/user", a.child_pid));
        v.insert(v.end(), {"--netns-type=path", a.detached_netns});
    }
    v.push_back(a.ifname);
    return v;
}

util::Result<std::unique_ptr<Driver>> make_slirp4netns_driver(const proto::Options& opts) {
    auto res = RK_TRY(probe(opts));
    const auto& f = res.features;
    if (opts.ipv6 && !f.ipv6)
        return fail(plain_error("this slirp4netns does not support --enable-ipv6",
                                "upgrade slirp4netns or drop --ipv6"));
    if (!opts.cidr.empty() && !f.cidr)
        return fail(plain_error("this slirp4netns does not support --cidr",
                                "upgrade slirp4netns or drop --cidr"));
    if (opts.disable_host_loopback && !f.disable_host_loopback)
        return fail(plain_error("this slirp4netns does not support --disable-host-loopback",
                                "upgrade slirp4netns"));
    if (opts.port_driver == "slirp4netns" && !f.api_socket)
        return fail(plain_error("this slirp4netns does not support --api-socket",
                                "upgrade slirp4netns or use --port-driver=builtin"));
    bool sandbox_ok = f.sandbox && !opts.detach_netns;
    Slirp4netnsHelper helper;
    helper.binary = res.binary;
    helper.sandbox =
        RK_TRY(resolve_mode("slirp4netns-sandbox", opts.slirp4netns_sandbox, sandbox_ok,
                            f.sandbox ? "not supported with --detach-netns"
                                      : "this slirp4netns lacks --enable-sandbox"));
    helper.seccomp = RK_TRY(resolve_mode("slirp4netns-seccomp", opts.slirp4netns_seccomp,
                                         f.seccomp && kernel_has_seccomp_filter(),
                                         f.seccomp ? "the kernel lacks seccomp filters"
                                                   : "this slirp4netns lacks --enable-seccomp"));
    auto plan = RK_TRY(plan_virtual_net(opts, 65520, 2, 3));
    if (opts.ipv6) plan.dns.push_back("fd00::3");
    return std::unique_ptr<Driver>(new Slirp4netnsDriver(opts, std::move(plan), std::move(helper)));
}

util::Result<std::string> Slirp4netnsDriver::configure_parent(const ChildNetns& ns) {
    if (opts_.port_driver == "slirp4netns") control_socket_ = ns.state_dir + "/.s4nn.sock";
    Slirp4netnsArgs a{plan_.mtu,       opts_.disable_host_loopback,
                      opts_.cidr,      control_socket_,
                      helper_.sandbox, helper_.seccomp,
                      opts_.ipv6,      ns.pid,
                      plan_.ifname,    ns.detached};
    std::vector<std::string> argv{helper_.binary};
    for (auto& s : slirp4netns_argv(a))
        argv.push_back(std::move(s));
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return fail(util::sys_error("pipe2"));
    util::Fd ready_r(ready[0]), ready_w(ready[1]);
    proc_ = RK_TRY(start_helper("slirp4netns", std::move(argv), {ready_w.get()}));
    ready_w.reset();
    RK_TRY(await_ready(proc_, ready_r.get(), kReadyTimeout));
    return std::string();
}

util::Status Slirp4netnsDriver::prepare_child() {
    return create_persistent_tap(plan_.ifname);
}

util::Status Slirp4netnsDriver::configure_child(const std::string&) {
    RK_TRY(configure_interface(plan_));
    if (opts_.port_driver == "slirp4netns") {
        // Connections forwarded by slirp4netns reach the server from 10.0.2.2 with the host
        // client's port and without TCP timestamps. Under churn a port comes back while the
        // server's TIME_WAIT for it lives, the kernel answers the new SYN with an ACK instead
        // of accepting it, and the client stalls for a retransmit: upstream drops to ~100
        // req/s with a new connection per request. Behind slirp's virtual link TIME_WAIT
        // protects against nothing, so the namespace keeps none (per-netns sysctl; containers'
        // own namespaces are not affected).
        if (auto s = sys::write_existing("/proc/sys/net/ipv4/tcp_max_tw_buckets", "0\n"); !s)
            util::log::warn("cannot set net.ipv4.tcp_max_tw_buckets=0 in the namespace ({}); "
                            "many short connections through slirp4netns may stall",
                            s.error().message());
    }
    return {};
}

} // namespace rk::net
