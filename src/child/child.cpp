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
#include "child/child.hpp"

#include "child/mounts.hpp"
#include "net/driver.hpp"
#include "proto/channel.hpp"
#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <cstring>
#include <fmt/format.h>
#include <limits.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

namespace rk::child {
using util::fail;
using util::Fd;
namespace log = util::log;

namespace {

// Mount and network set-up inside the namespaces, between IdmapDone and ChildReady.
util::Status setup(const proto::Options& opts, const proto::ChildStartup& st) {
    RK_TRY(proto::expect(st.from_parent, proto::MsgKind::IdmapDone));
    if (::getuid() != 0)
        return fail(util::plain_error("the ID maps were written but we are not uid 0 inside"));
    if (opts.pidns) {
        if (auto s = mount_proc(); !s) log::warn("{}", s.error().message());
    }
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
    RK_TRY_CTX(st.driver->configure_child(net.payload), "failed to set up the network");
    RK_TRY(proto::send(st.to_parent, {proto::MsgKind::ChildReady, {}}));
    return {};
}

[[noreturn]] void exec_target(const proto::Options& opts, const proto::ChildStartup& st,
                              const std::string& exe, pid_t supervisor, int err_fd) {
    sys::reset_signals_for_exec();
    if (opts.reaper_enabled()) ::setsid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != supervisor) ::_exit(1); // the supervisor is already gone
    if (st.activation_rewrite_pid) ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    // Only stdio and the socket-activation fds reach the target.
    sys::close_range(static_cast<unsigned>(3 + st.listen_fds), ~0U, CLOSE_RANGE_CLOEXEC);
    ::fcntl(err_fd, F_SETFD, FD_CLOEXEC);
    std::vector<char*> argv;
    for (const auto& a : opts.command)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    int err = errno;
    (void)!::write(err_fd, &err, sizeof err);
    ::_exit(127);
}

// Starts the target. Returns its pid, or the exec error (reported through a CLOEXEC pipe).
util::Result<pid_t> start_target(const proto::Options& opts, const proto::ChildStartup& st) {
    // Looked up here, in the namespace's view of the file system, like Go's exec.LookPath.
    // A name with a slash is executed as is, and execv's errno tells what is wrong with it.
    bool has_slash = opts.command[0].find('/') != std::string::npos;
    auto exe = has_slash ? std::optional(opts.command[0]) : sys::find_in_path(opts.command[0]);
    if (!exe)
        return fail(util::plain_error(
            fmt::format("exec: \"{}\": executable file not found in $PATH", opts.command[0])));
    int ep[2];
    if (::pipe2(ep, O_CLOEXEC) != 0) return fail(util::sys_error("pipe2"));
    Fd err_r(ep[0]), err_w(ep[1]);
    pid_t self = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return fail(util::sys_error("fork"));
    if (pid == 0) exec_target(opts, st, *exe, self, err_w.get());
    err_w.reset();
    int err = 0;
    ssize_t n = sys::retry_eintr([&] { return ::read(err_r.get(), &err, sizeof err); });
    if (n == sizeof err) {
        int status;
        sys::retry_eintr([&] { return ::waitpid(pid, &status, 0); });
        return fail(util::sys_error(err, fmt::format("exec: \"{}\"", opts.command[0])));
    }
    return pid;
}

// Forwards signals to the target and reaps until the target has exited; returns its status.
int supervise(const proto::Options& opts, pid_t target, int sfd) {
    const bool reap_all = opts.reaper_enabled();
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

} // namespace

int main(const proto::Options& opts, const proto::ChildStartup& st) {
    log::set_role(log::Role::Child);
    // Die with the parent; the pipe read below notices a parent that died before this call.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (auto s = setup(opts, st); !s) {
        // EOF on the pipe: the parent failed and says why itself.
        if (s.error().err != EPIPE) log::error("{}", s.error().message());
        return 1;
    }
    ::close(st.from_parent);
    ::close(st.to_parent);

    ::setenv("ROOTLESSKIT_STATE_DIR", st.state_dir.c_str(), 1);
    ::setenv("ROOTLESSKIT_PARENT_EUID", std::to_string(st.parent_euid).c_str(), 1);
    ::setenv("ROOTLESSKIT_PARENT_EGID", std::to_string(st.parent_egid).c_str(), 1);

    auto sfd = sys::block_and_signalfd(sys::forwarded_signals());
    if (!sfd) {
        log::error("{}", sfd.error().message());
        return 1;
    }
    auto target = start_target(opts, st);
    if (!target) {
        log::error("{}", target.error().message());
        return 1;
    }
    log::phase("target started");
    int status = supervise(opts, *target, sfd->get());
    log::phase("target exited");
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    log::error("command {} exited: {}", util::go_slice(opts.command),
               sys::describe_wait_status(status));
    return 255;
}

} // namespace rk::child
