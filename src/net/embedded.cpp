// Purpose: --net=gvisor-tap-vsock, the embedded libslirp network (see embedded.hpp).
//
// Theory of Operation
//   make: find rootlesskit-netd; a socketpair for the tap fd, inherited by the clone.
//   prepare_child (child, in the namespace's netns): create the tap device and send its fd to
//   the parent; the child keeps no copy.
//   configure_parent: receive the fd; start netd supervised (helper.hpp) with the tap on fd 3
//   and a readiness pipe on fd 4; netd sets libslirp up, enters its sandbox and says "1" ("2":
//   without Landlock, which the user allowed with ROOTLESSKIT_NETD_WITHOUT_LANDLOCK - we warn).
//   configure_child: the usual netlink set-up (gateway .1). With --ipv6 the kernel takes an
//   fd00::/64 address and default route from libslirp's router advertisements (SLAAC).
#include "net/embedded.hpp"

#include "net/vnet.hpp"
#include "sys/fdpass.hpp"
#include "util/log.hpp"

#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rk::net {
using util::fail;
using util::plain_error;

std::optional<std::string> find_netd() {
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return std::nullopt;
    self[n] = '\0';
    std::string dir(self);
    dir = dir.substr(0, dir.rfind('/'));
    for (const auto& p :
         {dir + "/rootlesskit-netd", dir + "/../libexec/rootlesskit/rootlesskit-netd"}) {
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return std::nullopt;
}

bool netd_without_landlock_allowed() {
    const char* v = std::getenv("ROOTLESSKIT_NETD_WITHOUT_LANDLOCK");
    return v && (std::string_view(v) == "1" || std::string_view(v) == "true");
}

std::vector<std::string> netd_argv(const VirtualNet& plan, const NetdArgs& args) {
    std::vector<std::string> v{"--mtu", std::to_string(plan.mtu), "--cidr",
                               plan.network + "/" + std::to_string(plan.prefix)};
    if (args.disable_host_loopback) v.emplace_back("--disable-host-loopback");
    if (args.ipv6) v.emplace_back("--ipv6");
    if (args.without_landlock) v.emplace_back("--without-landlock");
    if (!args.api_socket.empty()) v.insert(v.end(), {"--api-socket", args.api_socket});
    return v;
}

std::string netd_api_socket(const std::string& state_dir) {
    return state_dir + "/.netd.sock";
}

util::Result<std::unique_ptr<Driver>> make_embedded_driver(const proto::Options& opts) {
    auto netd = find_netd();
    if (!netd)
        return fail(plain_error("rootlesskit-netd not found next to rootlesskit or in "
                                "../libexec/rootlesskit",
                                "reinstall rootlesskit-cpp (cmake --install)"));
    auto plan = RK_TRY(plan_virtual_net(opts, 65520, 1, 1));
    // Upstream refuses --ipv6 here; libslirp has IPv6, so we give it as slirp4netns does.
    if (opts.ipv6) plan.dns.push_back("fd00::3");
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
        return fail(util::sys_error("socketpair"));
    return std::unique_ptr<Driver>(
        new EmbeddedDriver(opts, std::move(plan), *netd, util::Fd(sp[0]), util::Fd(sp[1])));
}

util::Status EmbeddedDriver::prepare_child() {
    parent_end_.reset();
    auto tap = RK_TRY(open_tap(plan_.ifname));
    RK_TRY(sys::send_fd(child_end_.get(), tap.get()));
    child_end_.reset();
    return {};
}

util::Result<std::string> EmbeddedDriver::configure_parent(const ChildNetns& ns) {
    child_end_.reset();
    auto tap = RK_TRY_CTX(sys::recv_fd(parent_end_.get(), 10000), "no tap device from the child");
    parent_end_.reset();
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return fail(util::sys_error("pipe2"));
    util::Fd ready_r(ready[0]), ready_w(ready[1]);
    std::vector<std::string> argv{netd_};
    NetdArgs args;
    args.disable_host_loopback = opts_.disable_host_loopback;
    args.ipv6 = opts_.ipv6;
    args.without_landlock = netd_without_landlock_allowed();
    if (opts_.port_driver == "gvisor-tap-vsock")
        args.api_socket = control_socket_ = netd_api_socket(ns.state_dir);
    for (auto& a : netd_argv(plan_, args))
        argv.push_back(std::move(a));
    proc_ = RK_TRY(start_helper("rootlesskit-netd", std::move(argv), {tap.get(), ready_w.get()}));
    ready_w.reset();
    std::string token = RK_TRY(await_ready(proc_, ready_r.get(), std::chrono::seconds(30)));
    if (token == "2")
        util::log::warn("the embedded network runs without Landlock, as "
                        "ROOTLESSKIT_NETD_WITHOUT_LANDLOCK allows: only seccomp confines it, and "
                        "it can read every file you can");
    return std::string();
}

util::Status EmbeddedDriver::configure_child(const std::string&) {
    return configure_interface(plan_);
}

} // namespace rk::net
