// Purpose: --net=lxc-user-nic (see lxc_user_nic.hpp).
//
// Theory of Operation
//   make: resolve the binary (flag, else upstream's default locations).
//   configure_parent: lxc-user-nic is setuid root; it must run on the host side (inside our
//   user namespace the host's root is unmapped and the setuid bit buys nothing). It takes a
//   PID whose network namespace receives the device: the child's, or with --detach-netns a
//   holder process of ours that joined the child's user namespace and the detached network
//   namespace (upstream execs `nsenter ... sleep infinity` for this).
//   configure_child: lo up, MTU, device up, DHCP (30 s), address and default route; a thread
//   renews the lease at 0.9 of its duration for as long as the child lives.
#include "net/lxc_user_nic.hpp"

#include "net/helper.hpp"
#include "sys/netlink.hpp"
#include "sys/process.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/thread.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace rk::net {
using util::fail;
using util::plain_error;

namespace {

constexpr auto kDhcpTimeout = std::chrono::seconds(30);

// A process sitting in the child's user namespace and the detached network namespace, so that
// lxc-user-nic can be given its PID. Killed when the object goes.
class NetnsHolder {
  public:
    static util::Result<NetnsHolder> start(pid_t child, const std::string& netns_path) {
        util::Fd userns(
            ::open(fmt::format("/proc/{}/ns/user", child).c_str(), O_RDONLY | O_CLOEXEC));
        if (!userns) return fail(util::sys_error("cannot open the child's user namespace"));
        util::Fd netns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!netns) return fail(util::sys_error("cannot open " + netns_path));
        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) != 0) return fail(util::sys_error("pipe2"));
        util::Fd ready_r(ready[0]), ready_w(ready[1]);
        pid_t pid = sys::fork_bound_to_parent();
        if (pid < 0) return fail(util::sys_error("fork"));
        if (pid == 0) {
            // Only syscalls from here: the parent may have other threads.
            char ok = 1;
            if (::setns(userns.get(), CLONE_NEWUSER) != 0 ||
                ::setns(netns.get(), CLONE_NEWNET) != 0)
                ok = 0;
            if (::write(ready_w.get(), &ok, 1) != 1 || !ok) ::_exit(1);
            for (;;)
                ::pause();
        }
        NetnsHolder h;
        h.pid_ = pid;
        ready_w.reset();
        char ok = 0;
        if (sys::retry_eintr([&] { return ::read(ready_r.get(), &ok, 1); }) != 1 || !ok)
            return fail(plain_error("cannot join the detached network namespace for "
                                    "lxc-user-nic (setns)"));
        return h;
    }
    NetnsHolder() = default;
    NetnsHolder(NetnsHolder&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
    ~NetnsHolder() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int st;
        sys::retry_eintr([&] { return ::waitpid(pid_, &st, 0); });
    }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
};

std::string user_name() {
    passwd* pw = ::getpwuid(::getuid());
    return pw ? pw->pw_name : std::to_string(::getuid());
}

} // namespace

std::string default_lxc_user_nic_binary() {
    utsname u{};
    std::string machine = ::uname(&u) == 0 ? u.machine : "x86_64";
    for (auto p : {std::string("/usr/libexec/lxc/lxc-user-nic"),
                   "/usr/lib/" + machine + "-linux-gnu/lxc/lxc-user-nic",
                   std::string("/usr/lib/lxc/lxc-user-nic")}) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0) return p;
    }
    return {};
}

std::vector<std::string> lxc_user_nic_argv(pid_t pid, const std::string& bridge,
                                           const std::string& ifname) {
    return {"create", "/dev/null", "dummy", std::to_string(pid), "veth", bridge, ifname};
}

util::Result<std::unique_ptr<Driver>> make_lxc_user_nic_driver(const proto::Options& opts) {
    std::string binary = opts.lxc_user_nic_binary;
    if (binary.empty()) binary = default_lxc_user_nic_binary();
    if (binary.empty())
        return fail(plain_error("lxc-user-nic not found in /usr/libexec/lxc, /usr/lib/<arch>-"
                                "linux-gnu/lxc or /usr/lib/lxc",
                                "install lxc (apt-get install lxc) or set "
                                "--lxc-user-nic-binary"));
    if (::access(binary.c_str(), X_OK) != 0) {
        auto e = util::sys_error(fmt::format("lxc-user-nic binary \"{}\" is not usable", binary));
        e.hint = "install lxc or fix --lxc-user-nic-binary";
        return fail(e);
    }
    return std::unique_ptr<Driver>(new LxcUserNicDriver(opts, std::move(binary)));
}

util::Result<std::string> LxcUserNicDriver::configure_parent(const ChildNetns& ns) {
    std::optional<NetnsHolder> holder;
    pid_t target = ns.pid;
    if (ns.is_detached()) {
        holder.emplace(RK_TRY(NetnsHolder::start(ns.pid, ns.detached)));
        target = holder->pid();
    }
    std::vector<std::string> argv{binary_};
    for (auto& a : lxc_user_nic_argv(target, opts_.lxc_user_nic_bridge, ifname_))
        argv.push_back(std::move(a));
    auto h = RK_TRY(sys::spawn_helper(argv));
    auto r = RK_TRY(sys::finish_helper(h));
    if (!r.ok()) {
        std::string out = util::trim(r.output).empty() ? sys::describe_wait_status(r.status)
                                                       : last_output_line(r.output);
        return fail(plain_error(
            fmt::format("lxc-user-nic failed to create {} on bridge {}: {}", ifname_,
                        opts_.lxc_user_nic_bridge, out),
            fmt::format("the bridge must exist and /etc/lxc/lxc-usernet must allow you veth "
                        "devices on it (a line \"{} veth {} 10\")",
                        user_name(), opts_.lxc_user_nic_bridge)));
    }
    util::log::debug("lxc-user-nic: {}", util::trim(r.output));
    return std::string();
}

util::Status LxcUserNicDriver::configure_child(const std::string&) {
    RK_TRY(sys::netlink::loopback_up());
    int dev = static_cast<int>(::if_nametoindex(ifname_.c_str()));
    if (dev == 0) return fail(util::sys_error("cannot find the interface " + ifname_));
    RK_TRY(sys::netlink::link_set_mtu(dev, mtu_, ifname_));
    RK_TRY(sys::netlink::link_set_up(dev, ifname_));
    auto lease = RK_TRY_CTX(dhcp::acquire(ifname_, kDhcpTimeout),
                            "cannot get an address for " + ifname_ + " by DHCP");
    util::log::debug("dhcp: {}/{} via {}, dns {}, lease {} s", lease.address, lease.prefix,
                     lease.router, util::go_slice(lease.dns), lease.duration.count());
    RK_TRY(sys::netlink::addr_add(dev, lease.address, lease.prefix, ifname_));
    RK_TRY(sys::netlink::route_add_default(dev, lease.router, ifname_));
    {
        std::lock_guard lk(mu_);
        lease_ = lease;
    }
    // Renewal, for the child's lifetime. Started from this thread, so that with --detach-netns
    // it inherits the detached namespace.
    return util::start_detached("DHCP renewals", [this, lease]() mutable {
        for (;;) {
            // At 90% of the lease (in ms: a 1 s lease would give 0 in whole seconds), and
            // never sooner than 10 s after the last exchange, whatever the server says.
            auto pause =
                std::chrono::duration_cast<std::chrono::milliseconds>(lease.duration) * 9 / 10;
            std::this_thread::sleep_for(
                std::max<std::chrono::milliseconds>(pause, std::chrono::seconds(10)));
            auto r = dhcp::renew(ifname_, lease, kDhcpTimeout);
            if (!r) {
                util::log::warn("DHCP renewal of {} failed: {}; retrying in 60 s", lease.address,
                                r.error().message());
                lease.duration = std::chrono::seconds(67); // 0.9 x 67 s ~ 60 s
                continue;
            }
            if (r->address != lease.address)
                // Upstream panics here; the namespace keeps working with its address until
                // the server hands that address to someone else.
                util::log::error("the DHCP server moved {} from {} to {}; keeping {}", ifname_,
                                 lease.address, r->address, lease.address);
            else
                lease = *r;
        }
    });
}

std::vector<std::string> LxcUserNicDriver::resolvers() const {
    std::lock_guard lk(mu_);
    return lease_.dns;
}

} // namespace rk::net
