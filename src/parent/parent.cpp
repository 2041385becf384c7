// Purpose: the parent half of rootlesskit.
//
// Theory of Operation
//   Everything that can fail without a namespace fails first (flags, driver, newuidmap, sub-ID
//   ranges), so a bad set-up leaves nothing behind. Then: state dir + lock, signals blocked and
//   read from a signalfd (none are lost during start-up), one clone() that creates the child in
//   every requested namespace at once, newuidmap and newgidmap run concurrently, and the
//   start-up sequence of proto/channel.hpp. child_pid is written only after the child reports
//   ChildReady, so its appearance means "fully set up". Afterwards the parent only forwards
//   signals and waits; the child's exit status becomes ours (255 if it died by a signal).
#include "parent/parent.hpp"

#include "api/server.hpp"
#include "bypass/kernel.hpp"
#include "bypass/supervisor.hpp"
#include "net/driver.hpp"
#include "parent/cgroup.hpp"
#include "parent/idmap.hpp"
#include "parent/preflight.hpp"
#include "parent/statedir.hpp"
#include "parent/subid.hpp"
#include "port/registry.hpp"
#include "proto/channel.hpp"
#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <functional>
#include <optional>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

namespace rk::parent {
using util::fail;
using util::Fd;
namespace log = util::log;

namespace {

struct Activation {
    int fds = 0;
    bool rewrite_pid = false;
};

// systemd socket activation: LISTEN_PID and LISTEN_FDS both numeric and LISTEN_FDS > 0.
Activation detect_activation() {
    const char* pid = ::getenv("LISTEN_PID");
    const char* fds = ::getenv("LISTEN_FDS");
    if (!pid || !fds) return {};
    auto p = util::parse_i64(pid);
    auto n = util::parse_i64(fds);
    if (!p || !n || *n <= 0 || *n > 1024) return {};
    return {static_cast<int>(*n), *p == ::getpid()};
}

unsigned long clone_flags(const proto::Options& o, const net::Driver& d) {
    unsigned long f = CLONE_NEWUSER | CLONE_NEWNS;
    if (o.pidns) f |= CLONE_NEWPID;
    // --detach-netns: the child makes the namespace beside it (sys/netns.hpp).
    if (d.new_netns() && !o.detach_netns) f |= CLONE_NEWNET;
    if (o.utsns) f |= CLONE_NEWUTS;
    if (o.ipcns) f |= CLONE_NEWIPC;
    if (o.cgroupns) f |= CLONE_NEWCGROUP;
    return f;
}

// Runs newuidmap and newgidmap at the same time; both must succeed.
util::Status write_idmaps(pid_t child, const std::vector<std::string>& uid_args,
                          const std::vector<std::string>& gid_args) {
    std::string pid = std::to_string(child);
    auto argv = [&](const char* tool, const std::vector<std::string>& a) {
        std::vector<std::string> v = {tool, pid};
        v.insert(v.end(), a.begin(), a.end());
        return v;
    };
    auto uh = RK_TRY(sys::spawn_helper(argv("newuidmap", uid_args)));
    auto gh = sys::spawn_helper(argv("newgidmap", gid_args));
    auto ur = sys::finish_helper(uh); // reaped before any way out below
    if (!gh) return fail(gh.error());
    auto gr = sys::finish_helper(*gh);
    if (!ur) return fail(ur.error());
    if (!gr) return fail(gr.error());
    for (auto [h, r] : {std::pair{&uh, &*ur}, std::pair{&*gh, &*gr}}) {
        if (r->ok()) continue;
        std::vector<std::string> shown(h->argv.begin() + 2, h->argv.end());
        auto e = util::plain_error(fmt::format(
            "failed to setup UID/GID map: {} {} {} failed: {}: {}", h->argv[0], pid,
            util::go_slice(shown), util::trim(r->output), sys::describe_wait_status(r->status)));
        if (r->output.find("Invalid argument") != std::string::npos)
            e.hint = "the kernel rejected the map; check that /etc/subuid and /etc/subgid ranges "
                     "do not overlap each other or your own uid/gid";
        else if (r->output.find("Operation not permitted") != std::string::npos ||
                 r->output.find("not owner") != std::string::npos)
            e.hint = "newuidmap/newgidmap refused the ranges; check /etc/subuid and /etc/subgid";
        else
            e.hint = "newuidmap/newgidmap said why above; `rootless-setuptool check` names what "
                     "is wrong with /etc/subuid and /etc/subgid";
        return fail(e);
    }
    return {};
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 255; // killed by a signal: upstream's os.Exit(-1)
}

// Phase 1's findings: everything start-up needs that could be checked without creating
// anything.
struct Checked {
    std::unique_ptr<net::Driver> driver;
    std::vector<std::string> uid_args, gid_args; // newuidmap/newgidmap arguments
    UsernsSysctls sysctls;
    bypass::FilterProgram bypass_filter; // --socket-bypass
};

util::Result<Checked> check_before_start(const proto::Options& opts) {
    Checked c;
    RK_TRY(check_kernel_features());
    c.driver = RK_TRY(net::make_driver(opts));
    RK_TRY(port::check(opts));
    auto user = RK_TRY(current_user());
    RK_TRY(find_idmap_tools());
    auto subids = RK_TRY(lookup_subids(opts.subid_source, user));
    // On failure only, the fix's example: a free range, which reads both files again.
    auto map_args = [&](IdKind kind, uint32_t own, const std::vector<SubidRange>& ranges) {
        auto a = idmap_args(kind, own, ranges, user.name);
        return a ? a : idmap_args(kind, own, ranges, user.name, free_subid_start_here(user));
    };
    c.uid_args = RK_TRY(map_args(IdKind::Uid, user.uid, subids.uids));
    c.gid_args = RK_TRY(map_args(IdKind::Gid, user.gid, subids.gids));
    c.sysctls = read_userns_sysctls();
    warn_environment(opts, c.sysctls);
    if (opts.socket_bypass) {
        c.bypass_filter = RK_TRY(bypass::build_filter());
        RK_TRY(bypass::probe_kernel(c.bypass_filter));
    }
    return c;
}

// A SOCK_SEQPACKET pair made before clone, one end for each half; none if not `wanted`. The
// builtin port driver's dial channel (port/builtin/dial.hpp) and the socket bypass's
// (bypass/channel.hpp).
struct Channel {
    Fd parent, child;
};
util::Result<Channel> open_channel(bool wanted) {
    if (!wanted) return Channel{};
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
        return fail(util::sys_error("socketpair"));
    return Channel{Fd(sp[0]), Fd(sp[1])};
}

// The ranges the bypass never takes: fixed ones, and the network driver's own networks.
bypass::Config bypass_config(const proto::Options& opts, const net::Driver& net) {
    std::vector<bypass::Prefix> extra;
    for (const auto& n : net.own_networks())
        if (auto p = bypass::parse_prefix(n)) extra.push_back(*p);
    return {bypass::never_ranges(extra), opts.disable_host_loopback};
}

// Phase 6: the port driver's parent half (none for --port-driver=none and implicit), before the
// event loop, with what it may need of the network driver.
util::Result<std::unique_ptr<port::Driver>> make_port_driver(boost::asio::io_context& io,
                                                             const proto::Options& opts,
                                                             const net::Driver& net, Fd dial,
                                                             bool keep_source_ip) {
    auto info = net.info();
    return port::make_parent_half({io, opts, info ? info->child_ip : std::string(),
                                   net.helper_name(), net.helper_pid(), net.control_socket(),
                                   std::move(dial), keep_source_ip});
}

// Every -p spec, in order; the first failure aborts start-up.
util::Status publish(port::Driver& ports, const std::vector<std::string>& specs) {
    for (const auto& p : specs) {
        auto spec = RK_TRY(port::parse_port_spec(p));
        if (auto st = ports.add(spec); !st)
            return fail(st.error().wrap("failed to expose port " + port::go_notation(spec)));
    }
    return {};
}

// What api.sock serves: /v1/info from the live drivers, the ports from `ports` (may be null).
api::Backend api_backend(const std::string& state_dir, pid_t child, const net::Driver& net,
                         port::Driver* ports, const bypass::Supervisor* bypass) {
    api::Backend b;
    b.ports = ports;
    b.info = [state_dir, child, &net, ports, bypass] {
        api::Info i;
        i.version = RK_VERSION_STRING;
        i.state_dir = state_dir;
        i.child_pid = child;
        i.network_driver = net.info();
        if (ports)
            i.port_driver =
                api::PortDriverInfo{ports->name(), ports->protos(),
                                    ports->disallow_loopback_child_ip(), ports->extra()};
        if (bypass) {
            auto st = bypass->stats();
            i.socket_bypass = api::SocketBypassInfo{st.bypassed, st.failed, st.passed};
        }
        return i;
    };
    return b;
}

class Parent {
  public:
    Parent(const proto::Options& o, ChildMain m) : opts_(o), child_main_(m) {}
    int run();

  private:
    // The start-up, phase by phase (numbered as in the code), then the event loop; the exit code
    // to use, or why start-up failed.
    util::Result<int> start_and_wait();
    // Phase 5: ID maps, UserNSReady, the network's parent half, NetworkReady, ChildReady.
    struct Ready {
        std::optional<int> child_exit; // the child failed during start-up: exit with this
        bool keep_source_ip = false;   // the child set up source-IP routing
    };
    util::Result<Ready> handshake(int to_child, int from_child, Checked& checked,
                                  const std::string& state_dir);
    // Waits for the child's next start-up message while watching the signalfd: a terminating
    // signal aborts the start-up, others are kept and forwarded once the child is ready.
    util::Result<proto::Message> await(int fd, proto::MsgKind kind);
    int wait_loop(boost::asio::io_context& io, net::Driver& driver);
    std::optional<int> on_signal();
    void forward(const signalfd_siginfo& si);

    const proto::Options& opts_;
    ChildMain child_main_;
    pid_t child_ = -1;
    Fd sfd_;
    std::vector<signalfd_siginfo> pending_;
};

util::Result<proto::Message> Parent::await(int fd, proto::MsgKind kind) {
    for (;;) {
        pollfd pf[2] = {{fd, POLLIN, 0}, {sfd_.get(), POLLIN, 0}};
        if (sys::retry_eintr([&] { return ::poll(pf, 2, -1); }) < 0)
            return fail(util::sys_error("poll"));
        if (pf[0].revents) return proto::expect(fd, kind);
        signalfd_siginfo si{};
        if (::read(sfd_.get(), &si, sizeof si) != static_cast<ssize_t>(sizeof si)) continue;
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) continue; // a dead child closes the pipe; the read above sees it
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)
            return fail(
                util::plain_error("start-up interrupted by " + sys::signal_description(sig)));
        pending_.push_back(si);
    }
}

void Parent::forward(const signalfd_siginfo& si) {
    // A signal the terminal sent to our whole process group has reached the child already;
    // forwarding it again would deliver it twice (dockerd counts SIGINTs).
    if (si.ssi_code == SI_KERNEL) return;
    ::kill(child_, static_cast<int>(si.ssi_signo));
}

int Parent::run() {
    auto r = start_and_wait();
    if (!r) {
        // The fix is in the message; the troubleshooting page has the background.
        log::error("{} [more: rootless-setuptool check; {}]", r.error().message(),
                   sys::doc_path("troubleshooting.md"));
        return 1;
    }
    return *r;
}

util::Result<int> Parent::start_and_wait() {
    log::phase("start");
    if (::geteuid() == 0) log::warn("Running RootlessKit as the root user is unsupported.");
    // 1. Everything that can be checked without creating anything.
    auto checked = RK_TRY(check_before_start(opts_));
    auto& driver = checked.driver;
    log::phase("checked");

    // 2. State dir and lock; removed on every way out from here.
    auto sd = RK_TRY(StateDir::open(opts_.state_dir));
    util::Defer shutdown_driver([&] { driver->shutdown(); });

    // 3. Signals: blocked now, read from a signalfd, so none is lost during start-up. The
    // start-up pipes and the dial channel, inherited by the child.
    ::signal(SIGPIPE, SIG_IGN);
    sfd_ = RK_TRY(sys::block_and_signalfd(sys::forwarded_signals()));
    int p2c[2], c2p[2];
    if (::pipe2(p2c, O_CLOEXEC) != 0 || ::pipe2(c2p, O_CLOEXEC) != 0)
        return fail(util::sys_error("pipe2"));
    Fd p2c_r(p2c[0]), p2c_w(p2c[1]), c2p_r(c2p[0]), c2p_w(c2p[1]);
    auto dial = RK_TRY(open_channel(port::needs_dial_channel(opts_)));
    auto bypass_channel = RK_TRY(open_channel(opts_.socket_bypass));

    // 4. The child: one clone() into every namespace.
    Activation act = detect_activation();
    proto::ChildStartup startup;
    startup.from_parent = p2c_r.get();
    startup.to_parent = c2p_w.get();
    startup.state_dir = sd.path();
    startup.parent_euid = ::geteuid();
    startup.parent_egid = ::getegid();
    startup.listen_fds = act.fds;
    startup.activation_rewrite_pid = act.rewrite_pid;
    startup.privileged_failure_hint = apparmor_hint(checked.sysctls);
    startup.dial_fd = dial.child.get();
    startup.bypass_fd = bypass_channel.child.get();
    startup.bypass_filter = std::move(checked.bypass_filter);
    pid_t pid = sys::clone_fork(clone_flags(opts_, *driver));
    if (pid < 0) {
        int err = errno;
        return fail(diagnose_userns_failure(err, checked.sysctls));
    }
    if (pid == 0) {
        p2c_w.reset();
        c2p_r.reset();
        sfd_.reset();
        dial.parent.reset();
        bypass_channel.parent.reset();
        sd.close_fds(); // the lock belongs to the parent alone
        ::_exit(child_main_(opts_, startup, *driver));
    }
    child_ = pid;
    log::phase("cloned");
    // A forwarded connection costs the parent two fds (and a pipe while data moves): with the
    // usual soft limit of 1024 a busy port would run out at a few hundred clients. Raised only
    // now, after the clone, so the command in the namespace keeps the user's own limits.
    log::debug("open files limit {}", sys::raise_nofile_limit());
    util::Defer kill_child([&] { sys::kill_and_reap(child_); });
    p2c_r.reset();
    c2p_w.reset();
    dial.child.reset();
    bypass_channel.child.reset();
    log::debug("child pid {}", pid);

    // 5. ID maps, then the start-up sequence up to ChildReady.
    auto ready = RK_TRY(handshake(p2c_w.get(), c2p_r.get(), checked, sd.path()));
    if (ready.child_exit) return *ready.child_exit;
    p2c_w.reset();
    c2p_r.reset();

    // 6. The port driver, and every -p spec published in order; a failure aborts start-up.
    boost::asio::io_context io(1);
    auto ports =
        RK_TRY(make_port_driver(io, opts_, *driver, std::move(dial.parent), ready.keep_source_ip));
    if (ports) RK_TRY(publish(*ports, opts_.publish));
    std::unique_ptr<bypass::Supervisor> bypass;
    if (bypass_channel.parent)
        bypass = RK_TRY(bypass::Supervisor::start(io, std::move(bypass_channel.parent),
                                                  bypass_config(opts_, *driver)));

    // 7. Ready: child_pid, then api.sock - the last readiness artefact; then the event loop.
    log::phase("child ready");
    RK_TRY(sd.write_child_pid(pid));
    auto server = RK_TRY(
        api::Server::listen(io, sd.path() + "/api.sock",
                            api_backend(sd.path(), pid, *driver, ports.get(), bypass.get())));
    kill_child.dismiss();
    for (const auto& si : pending_)
        forward(si);
    pending_.clear();
    int code = wait_loop(io, *driver);
    server->close();
    ports.reset(); // closes listeners and live flows before the io_context goes
    bypass.reset();
    return code;
}

util::Result<Parent::Ready> Parent::handshake(int to_child, int from_child, Checked& checked,
                                              const std::string& state_dir) {
    // A child that fails during start-up prints its own reason; we only pass on its status.
    auto child_failed = [&]() -> Ready {
        int st = 0;
        sys::retry_eintr([&] { return ::waitpid(child_, &st, 0); });
        child_ = -1;
        int code = exit_code_of(st);
        return Ready{code == 0 ? 1 : code, false};
    };
    RK_TRY(write_idmaps(child_, checked.uid_args, checked.gid_args));
    log::phase("idmaps written");
    RK_TRY(proto::send(to_child, {proto::MsgKind::IdmapDone, {}}));
    if (auto m = await(from_child, proto::MsgKind::UserNSReady); !m) {
        if (m.error().err == EPIPE) return child_failed();
        return fail(m.error());
    }
    if (!opts_.evacuate_cgroup2.empty()) RK_TRY(evacuate_cgroup2(opts_.evacuate_cgroup2));
    net::ChildNetns ns{child_, state_dir, ""};
    if (opts_.detach_netns) ns.detached = fmt::format("/proc/{}/root{}/netns", child_, state_dir);
    auto payload = RK_TRY(checked.driver->configure_parent(ns));
    if (!proto::send(to_child, {proto::MsgKind::NetworkReady, payload})) return child_failed();
    auto ready = await(from_child, proto::MsgKind::ChildReady);
    if (!ready) {
        if (ready.error().err == EPIPE) return child_failed();
        return fail(ready.error());
    }
    // The payload names the source-IP mechanism the child set up; empty if it has none.
    return Ready{std::nullopt, opts_.source_ip_transparent && !ready->payload.empty()};
}

// Runs the event loop - signals, the API server, the network helper - until the child exits;
// returns the exit code to use.
int Parent::wait_loop(boost::asio::io_context& io, net::Driver& driver) {
    namespace asio = boost::asio;
    asio::posix::stream_descriptor signals(io, ::fcntl(sfd_.get(), F_DUPFD_CLOEXEC, 0));
    int code = 1;
    // A network helper that dies leaves the namespace without a network: say so, stop the
    // child (SIGTERM, SIGKILL 10 s later) and exit non-zero whatever the child's status.
    bool helper_dead = false;
    std::optional<asio::posix::stream_descriptor> helper;
    asio::steady_timer kill_timer(io);
    if (driver.helper_pidfd() >= 0) {
        helper.emplace(io, ::fcntl(driver.helper_pidfd(), F_DUPFD_CLOEXEC, 0));
        helper->async_wait(asio::posix::stream_descriptor::wait_read,
                           [&](boost::system::error_code ec) {
                               if (ec) return;
                               // A helper that quits because the namespace went away (pasta
                               // does) is not an error: the child's exit is on its way.
                               if (child_ > 0) {
                                   siginfo_t si{};
                                   if (::waitid(P_PID, static_cast<id_t>(child_), &si,
                                                WEXITED | WNOHANG | WNOWAIT) == 0 &&
                                       si.si_pid == child_)
                                       return;
                               }
                               log::error("{}", driver.helper_died().message());
                               helper_dead = true;
                               if (child_ > 0) ::kill(child_, SIGTERM);
                               kill_timer.expires_after(std::chrono::seconds(10));
                               kill_timer.async_wait([&](boost::system::error_code e) {
                                   if (!e && child_ > 0) ::kill(child_, SIGKILL);
                               });
                           });
    }
    std::function<void()> arm = [&] {
        signals.async_wait(asio::posix::stream_descriptor::wait_read,
                           [&](boost::system::error_code ec) {
                               if (ec) return;
                               if (auto done = on_signal()) {
                                   code = *done;
                                   io.stop();
                                   return;
                               }
                               arm();
                           });
    };
    arm();
    // An exception from a handler (a bug, or an Asio call without an error_code) must not end
    // the namespace: it is logged, and the loop carries on with the remaining work.
    for (;;) {
        try {
            io.run();
            break;
        } catch (const std::exception& e) {
            log::error("internal error in the event loop, carrying on: {}", e.what());
        }
    }
    return helper_dead ? 1 : code;
}

// Handles one pending signal; returns the exit code once the child has exited.
std::optional<int> Parent::on_signal() {
    signalfd_siginfo si{};
    ssize_t n = sys::retry_eintr([&] { return ::read(sfd_.get(), &si, sizeof si); });
    if (n != static_cast<ssize_t>(sizeof si)) return std::nullopt;
    if (si.ssi_signo != SIGCHLD) {
        forward(si);
        return std::nullopt;
    }
    int st = 0;
    pid_t w = sys::retry_eintr([&] { return ::waitpid(child_, &st, WNOHANG); });
    if (w != child_) return std::nullopt;
    log::phase("child exited");
    child_ = -1;
    if (WIFSIGNALED(st)) log::error("child exited: {}", sys::describe_wait_status(st));
    return exit_code_of(st);
}

} // namespace

int run(const proto::Options& opts, ChildMain child_main) {
    return Parent(opts, child_main).run();
}

} // namespace rk::parent
