// Purpose: the child half of rootlesskit.
//
// Theory of Operation
//   The child starts as a clone of the parent inside new user+mount(+pid, net, uts, ipc,
//   cgroup) namespaces, still holding the parent's memory (Options, driver object). It has
//   full capabilities in its user namespace from birth, but its uid is unmapped until the
//   parent has run newuidmap/newgidmap; once IdmapDone arrives it is uid 0 there, without any
//   re-exec. It then follows proto/channel.hpp, forks the target, and stays as its supervisor:
//   it forwards signals, reaps (as PID 1 of a new PID namespace, every orphan when the reaper is
//   on) and exits with the target's status, or 255 after naming the signal that killed it.
//   PR_SET_PDEATHSIG(SIGKILL) on the child and the target ties both to the parent's life.
//   Without --pidns the child is a subreaper: what the command leaves running (background
//   jobs, daemons that forked away) becomes the child's, is reaped as it exits, and once the
//   command has exited gets SIGTERM, then SIGKILL after kLeftoverGrace (end_leftovers). With
//   --pidns the kernel does that when the namespace's init - the child - exits.
#include "child/child.hpp"

#include "bypass/channel.hpp"
#include "bypass/kernel.hpp"
#include "bypass/netns_service.hpp"
#include "child/mounts.hpp"
#include "net/driver.hpp"
#include "port/registry.hpp"
#include "proto/channel.hpp"
#include "sys/fs.hpp"
#include "sys/netns.hpp"
#include "sys/process.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/thread.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <fmt/format.h>
#include <limits.h>
#include <poll.h>
#include <set>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <thread>

extern char** environ;

namespace rk::child {
using util::fail;
using util::Fd;
namespace log = util::log;

namespace {

// Mount and network set-up inside the namespaces, between IdmapDone and ChildReady. With
// --detach-netns, `netns` receives the detached network namespace. `ports`: the port driver's
// child half, if it has one; what it prepares is ChildReady's payload (for /v1/info).
util::Status setup(const proto::Options& opts, const proto::ChildStartup& st, net::Driver& driver,
                   Fd& netns, port::ChildHalf* ports) {
    RK_TRY(proto::expect(st.from_parent, proto::MsgKind::IdmapDone));
    if (::getuid() != 0)
        return fail(util::plain_error("the ID maps were written but we are not uid 0 inside"));
    if (opts.pidns) {
        if (auto s = mount_proc(); !s) log::warn("{}", s.error().message());
    }
    // --detach-netns: the network namespace is made beside ours and bound on $STATE_DIR/netns;
    // the driver's child half runs inside it, the target stays in the host's (spec 5.9).
    if (opts.detach_netns) netns = RK_TRY(sys::create_bound_netns(st.state_dir + "/netns"));
    RK_TRY_CTX(sys::run_in_netns(netns.get(), [&] { return driver.prepare_child(); }),
               "failed to prepare the network");
    RK_TRY(proto::send(st.to_parent, {proto::MsgKind::UserNSReady, {}}));
    auto net = RK_TRY(proto::expect(st.from_parent, proto::MsgKind::NetworkReady));

    char cwd[PATH_MAX];
    bool have_cwd = ::getcwd(cwd, sizeof cwd) != nullptr;
    RK_TRY(apply_propagation(opts.propagation));
    for (const auto& d : opts.copy_up)
        RK_TRY(copy_up(sys::clean_path(d)));
    // Re-resolve the working directory so that a cwd inside a copied-up dir sees the new view.
    if (have_cwd && !opts.copy_up.empty() && ::chdir(cwd) != 0)
        log::debug("cannot chdir back to {}: {}", cwd, std::strerror(errno));
    const bool detached = netns.get() >= 0;
    // A detached namespace is not the target's: /sys and /etc stay as they are.
    if (driver.virtual_nic() && !detached) remount_sys();
    RK_TRY_CTX(sys::run_in_netns(netns.get(), [&] { return driver.configure_child(net.payload); }),
               "failed to set up the network");
    if (driver.virtual_nic()) {
        bool etc_copied_up = std::any_of(opts.copy_up.begin(), opts.copy_up.end(),
                                         [](auto& d) { return sys::clean_path(d) == "/etc"; });
        RK_TRY(install_dns_files(st.state_dir, driver.resolvers(),
                                 detached ? DnsFiles::WriteOnly : DnsFiles::WriteAndMount,
                                 etc_copied_up));
    }
    std::string payload;
    if (ports)
        RK_TRY(sys::run_in_netns(netns.get(), [&]() -> util::Status {
            payload = ports->prepare();
            return {};
        }));
    RK_TRY(proto::send(st.to_parent, {proto::MsgKind::ChildReady, payload}));
    return {};
}

// Everything the target's process needs, prepared before vfork(): the vfork child shares our
// memory and may only make syscalls (no allocation).
struct TargetExec {
    std::string exe;
    std::vector<char*> argv;
    std::vector<char*> envp;
    char listen_pid[32] = "LISTEN_PID=";
    int listen_pid_slot = -1; // index in envp of "LISTEN_PID=...", rewritten with our pid
    bool new_session = false;
    unsigned first_fd_to_close = 3;
    pid_t supervisor = -1;
    volatile int exec_errno = 0;
    // --socket-bypass: the filter installed right before exec, its listener sent to the parent.
    int bypass_sock = -1;
    sock_fprog bypass_prog{};
    volatile int bypass_errno = 0;
};

// Writes "LISTEN_PID=<pid>" into the prepared buffer without allocating.
void format_listen_pid(TargetExec& t, pid_t pid) {
    char digits[16];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + pid % 10);
        pid /= 10;
    } while (pid > 0);
    char* p = t.listen_pid + sizeof("LISTEN_PID=") - 1;
    while (n > 0)
        *p++ = digits[--n];
    *p = '\0';
}

// Runs in the vfork child: syscalls only.
[[noreturn]] void exec_target(TargetExec& t) {
    sys::reset_signals_for_exec();
    if (t.new_session) ::setsid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != t.supervisor) ::_exit(1); // the supervisor is already gone
    if (t.listen_pid_slot >= 0) format_listen_pid(t, ::getpid());
    if (t.bypass_sock >= 0) {
        int listener = bypass::install_filter(&t.bypass_prog);
        if (listener < 0 || bypass::send_listener(t.bypass_sock, listener) != 0) {
            t.bypass_errno = errno;
            ::_exit(127);
        }
        ::close(listener);
    }
    // Only stdio and the socket-activation fds reach the target.
    sys::close_fds_from(t.first_fd_to_close, true);
    ::execve(t.exe.c_str(), t.argv.data(), t.envp.data());
    t.exec_errno = errno;
    ::_exit(127);
}

// Starts the target with vfork(), which is much cheaper than fork() for a process as large as
// ours. Returns its pid, or the exec error.
util::Result<pid_t> start_target(const proto::Options& opts, const proto::ChildStartup& st) {
    TargetExec t;
    if (st.bypass_fd >= 0) {
        t.bypass_sock = st.bypass_fd;
        t.bypass_prog = bypass::fprog(st.bypass_filter);
    }
    // Looked up here, in the namespace's view of the file system, like Go's exec.LookPath.
    // A name with a slash is executed as is, and execve's errno tells what is wrong with it.
    if (opts.command[0].find('/') != std::string::npos) {
        t.exe = opts.command[0];
    } else if (auto found = sys::find_in_path(opts.command[0])) {
        t.exe = *found;
    } else {
        return fail(util::plain_error(
            fmt::format("exec: \"{}\": executable file not found in $PATH", opts.command[0]),
            "give the command's full path, or install it; $PATH inside is the caller's"));
    }
    for (const auto& a : opts.command)
        t.argv.push_back(const_cast<char*>(a.c_str()));
    t.argv.push_back(nullptr);
    for (char** e = environ; *e; ++e) {
        if (st.activation_rewrite_pid && util::starts_with(*e, "LISTEN_PID=")) continue;
        t.envp.push_back(*e);
    }
    if (st.activation_rewrite_pid) {
        t.listen_pid_slot = static_cast<int>(t.envp.size());
        t.envp.push_back(t.listen_pid);
    }
    t.envp.push_back(nullptr);
    t.new_session = opts.reaper_enabled();
    t.first_fd_to_close = static_cast<unsigned>(3 + st.listen_fds);
    t.supervisor = ::getpid();

    pid_t pid = ::vfork();
    if (pid < 0) return fail(util::sys_error("vfork"));
    if (pid == 0) exec_target(t);
    // vfork returns here once the child has exec'd or exited.
    if (t.exec_errno != 0 || t.bypass_errno != 0) {
        int status;
        sys::retry_eintr([&] { return ::waitpid(pid, &status, 0); });
        if (t.bypass_errno == EBUSY)
            return fail(util::plain_error(
                "--socket-bypass: this process is already under a seccomp user-notification "
                "listener (a rootlesskit with --socket-bypass around this one?)",
                "use --socket-bypass on the outermost rootlesskit only"));
        if (t.bypass_errno != 0)
            return fail(
                util::sys_error(t.bypass_errno, "--socket-bypass: installing the seccomp filter"));
        auto e = util::sys_error(t.exec_errno, fmt::format("exec: \"{}\"", opts.command[0]));
        if (t.exec_errno == ENOENT)
            e.hint = "no such file: give the path of an existing program";
        else if (t.exec_errno == EACCES)
            e.hint = "the file is not executable by this user (chmod +x), or a directory in its "
                     "path is not searchable";
        else if (t.exec_errno == ENOEXEC)
            e.hint = "not a program this kernel can run: a script needs a #! line";
        return fail(e);
    }
    return pid;
}

// Forwards signals to the target and reaps until the target has exited; returns its status.
int supervise(const proto::Options& opts, pid_t target, int sfd) {
    // A subreaper (no --pidns) reaps the orphans that come to it, as the reaper does.
    const bool reap_all = opts.reaper_enabled() || !opts.pidns;
    for (;;) {
        signalfd_siginfo si{};
        ssize_t n = sys::retry_eintr([&] { return ::read(sfd, &si, sizeof si); });
        if (n != static_cast<ssize_t>(sizeof si)) continue;
        int sig = static_cast<int>(si.ssi_signo);
        if (sig != SIGCHLD) {
            // Terminal-generated signals already reached a target in our process group.
            if (si.ssi_code == SI_KERNEL && ::getpgid(target) == ::getpgrp()) continue;
            ::kill(target, sig);
            continue;
        }
        for (;;) {
            int status = 0;
            pid_t w = ::waitpid(reap_all ? -1 : target, &status, WNOHANG);
            if (w <= 0) break;
            if (w == target) return status;
        }
    }
}

// Our child processes (as a subreaper, the orphans of the command's tree too).
std::vector<pid_t> list_children() {
    std::vector<pid_t> out;
    const pid_t self = ::getpid();
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        auto pid = util::parse_u64(e->d_name);
        if (!pid) continue;
        auto ps = sys::read_proc_stat(static_cast<pid_t>(*pid));
        if (ps && ps->ppid == self && ps->state != 'Z') out.push_back(static_cast<pid_t>(*pid));
    }
    ::closedir(d);
    return out;
}

// Once the command has exited (no --pidns): what it left running in the namespace would
// outlive rootlesskit with no network helper behind it. SIGTERM (and SIGCONT, in case it is
// stopped) to each, reaping as they go; processes that are orphaned meanwhile come to us
// and get the same; after kLeftoverGrace, SIGKILL to whatever is left, until nothing is.
void end_leftovers(int sfd) {
    constexpr auto kLeftoverGrace = std::chrono::seconds(5);
    auto reap = [] {
        int status;
        while (::waitpid(-1, &status, WNOHANG) > 0) {
        }
    };
    reap();
    auto kids = list_children();
    if (kids.empty()) return;
    log::debug("the command left {} process(es) running; ending them", kids.size());
    const auto deadline = std::chrono::steady_clock::now() + kLeftoverGrace;
    std::set<pid_t> termed;
    bool warned = false;
    for (;;) {
        bool late = std::chrono::steady_clock::now() >= deadline;
        for (pid_t p : kids) {
            if (late) {
                ::kill(p, SIGKILL);
            } else if (termed.insert(p).second) {
                ::kill(p, SIGTERM);
                ::kill(p, SIGCONT);
            }
        }
        if (late && !warned) {
            log::warn("{} process(es) left by the command ignored SIGTERM for {} s; killed",
                      kids.size(), kLeftoverGrace.count());
            warned = true;
        }
        // Wait for a SIGCHLD (blocked, read from sfd), at most 50 ms.
        pollfd p{sfd, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
            signalfd_siginfo si{};
            (void)!::read(sfd, &si, sizeof si);
        }
        reap();
        kids = list_children();
        if (kids.empty()) return;
    }
}

} // namespace

int main(const proto::Options& opts, const proto::ChildStartup& st, net::Driver& driver) {
    log::set_role(log::Role::Child);
    // Die with the parent; the pipe read below notices a parent that died before this call.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    Fd netns;
    std::shared_ptr<port::ChildHalf> ports = port::make_child_half(opts, st.dial_fd);
    if (auto s = setup(opts, st, driver, netns, ports.get()); !s) {
        // EOF on the pipe: the parent failed and says why itself.
        if (s.error().err == EPIPE) return 1;
        util::Error e = s.error();
        if ((e.err == EPERM || e.err == EACCES) && e.hint.empty())
            e.hint = st.privileged_failure_hint;
        log::error("{}", e.message());
        return 1;
    }
    ::close(st.from_parent);
    ::close(st.to_parent);
    // --socket-bypass: the Home socket before the target starts (bypass/channel.hpp), then the
    // queries on a thread; the target installs the filter (start_target).
    if (st.bypass_fd >= 0) {
        util::Status s = bypass::send_home(st.bypass_fd, netns.get());
        // The thread gets its own copy of the channel: the target's start needs ours until
        // exec, and the thread closes its copy when it stops.
        Fd home(netns ? ::fcntl(netns.get(), F_DUPFD_CLOEXEC, 0) : -1);
        Fd chan(::fcntl(st.bypass_fd, F_DUPFD_CLOEXEC, 0));
        if (s && !chan) s = fail(util::sys_error("socket bypass: dup of the channel"));
        if (s && netns && !home)
            s = fail(util::sys_error("socket bypass: dup of the detached network namespace"));
        if (s)
            s = util::start_detached("the socket bypass",
                                     [chan = std::move(chan), home = std::move(home)]() mutable {
                                         bypass::serve_queries(std::move(chan), std::move(home));
                                     });
        if (!s) {
            log::error("{}", s.error().message());
            return 1;
        }
    }
    if (ports) {
        // The port driver's child half (builtin: the dialer, connecting inside our network
        // namespace for the parent). A thread, so that the supervisor loop below stays as it
        // is; with --detach-netns the thread joins the detached namespace and serves there.
        // The thread owns the namespace fd: closed however it ends (or if it never starts).
        auto serve = [ports, ns = std::move(netns)]() mutable {
            if (ns && ::setns(ns.get(), CLONE_NEWNET) != 0) {
                log::error("the port driver cannot join the detached network namespace: {}",
                           std::strerror(errno));
                return;
            }
            ns.reset();
            ports->serve();
        };
        if (auto s = util::start_detached("the port driver", std::move(serve)); !s) {
            log::error("{}", s.error().message());
            return 1;
        }
    }

    ::setenv("ROOTLESSKIT_STATE_DIR", st.state_dir.c_str(), 1);
    ::setenv("ROOTLESSKIT_PARENT_EUID", std::to_string(st.parent_euid).c_str(), 1);
    ::setenv("ROOTLESSKIT_PARENT_EGID", std::to_string(st.parent_egid).c_str(), 1);

    auto sfd = sys::block_and_signalfd(sys::forwarded_signals());
    if (!sfd) {
        log::error("{}", sfd.error().message());
        return 1;
    }
    // Without --pidns, nothing else would end what the command leaves behind (see the top).
    if (!opts.pidns) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    auto target = start_target(opts, st);
    // The target has its listener sent (or failed): only the query thread's copy stays open.
    if (st.bypass_fd >= 0) ::close(st.bypass_fd);
    if (!target) {
        log::error("{}", target.error().message());
        return 1;
    }
    log::phase("target started");
    int status = supervise(opts, *target, sfd->get());
    log::phase("target exited");
    if (!opts.pidns) end_leftovers(sfd->get());
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    log::error("command {} exited: {}", util::go_slice(opts.command),
               sys::describe_wait_status(status));
    return 255;
}

} // namespace rk::child
