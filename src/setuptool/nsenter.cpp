// Purpose: entering a running instance's namespaces (see nsenter.hpp).
#include "setuptool/nsenter.hpp"

#include "sys/fs.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace rk::setuptool {
using util::fail;
using util::plain_error;

namespace {

struct NsKind {
    const char* name; // under /proc/PID/ns
    int flag;
};
// User first: joining it is what gives us the right to join the others.
constexpr NsKind kNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},  {"net", CLONE_NEWNET},
    {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC}, {"cgroup", CLONE_NEWCGROUP},
    {"pid", CLONE_NEWPID},
};

util::Result<std::string> pick_state_dir(const NsenterOptions& o) {
    if (o.state_dir) return *o.state_dir;
    if (const char* sd = std::getenv("ROOTLESSKIT_STATE_DIR"); sd && *sd) return std::string(sd);
    std::vector<std::string> live;
    if (o.runtime_dir)
        for (const char* d : {"containerd", "dockerd", "buildkitd"}) {
            std::string sd = fmt::format("{}/{}-rootless", *o.runtime_dir, d);
            if (::access((sd + "/child_pid").c_str(), F_OK) == 0) live.push_back(sd);
        }
    if (live.size() == 1) return live[0];
    if (live.empty())
        return fail(plain_error("no running rootlesskit instance found (no --state-dir, no "
                                "$ROOTLESSKIT_STATE_DIR, no $XDG_RUNTIME_DIR/{containerd,dockerd,"
                                "buildkitd}-rootless)",
                                "pass --state-dir DIR, the directory that holds child_pid"));
    return fail(
        plain_error(fmt::format("several instances are running ({})", fmt::join(live, ", ")),
                    "pass --state-dir DIR to choose one"));
}

// The instance's lock is held as long as its parent runs (by us or by Go's rootlesskit).
bool instance_alive(const std::string& sd) {
    util::Fd fd(::open((sd + "/lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return false;
    if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;
    return errno == EWOULDBLOCK;
}

util::Result<pid_t> child_pid_of(const std::string& sd) {
    auto text = sys::read_file(sd + "/child_pid");
    if (!text)
        return fail(
            plain_error(fmt::format("{}/child_pid cannot be read: {}", sd, text.error().message()),
                        "is rootlesskit running with --state-dir=" + sd + "?"));
    auto pid = util::parse_i64(util::trim(*text));
    if (!pid || *pid <= 0) return fail(plain_error(fmt::format("{}/child_pid holds no PID", sd)));
    if (!instance_alive(sd))
        return fail(plain_error(fmt::format("the rootlesskit instance of {} is not running (its "
                                            "lock is free)",
                                            sd),
                                "start it again"));
    return static_cast<pid_t>(*pid);
}

util::Result<util::Fd> open_pidfd(pid_t pid) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return fail(util::sys_error(fmt::format("cannot open process {}", pid)));
    util::Fd pidfd(fd);
    // The pidfd pins this process; check it is ours (not a reused number) now that it cannot
    // change under us.
    struct stat st {};
    if (::stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0 || st.st_uid != ::getuid())
        return fail(plain_error(fmt::format("process {} is not yours; child_pid is stale", pid)));
    return pidfd;
}

bool same_ns(pid_t pid, const char* name) {
    struct stat a {
    }, b{};
    if (::stat(fmt::format("/proc/self/ns/{}", name).c_str(), &a) != 0) return true;
    if (::stat(fmt::format("/proc/{}/ns/{}", pid, name).c_str(), &b) != 0) return true;
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int error_line(const util::Error& e) {
    std::fprintf(stderr, "rootless-setuptool nsenter: %s\n", e.message().c_str());
    return 1;
}

[[noreturn]] void exec_command(const std::vector<std::string>& cmd) {
    std::vector<char*> argv;
    for (const auto& a : cmd)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    int err = errno;
    std::fprintf(stderr, "rootless-setuptool nsenter: cannot run %s: %s\n", cmd[0].c_str(),
                 std::strerror(err));
    std::_Exit(err == ENOENT ? 127 : 126);
}

} // namespace

int nsenter(const NsenterOptions& o) {
    auto sd = pick_state_dir(o);
    if (!sd) return error_line(sd.error());
    auto pid = child_pid_of(*sd);
    if (!pid) return error_line(pid.error());
    auto pidfd = open_pidfd(*pid);
    if (!pidfd) return error_line(pidfd.error());

    int flags = 0;
    for (const auto& ns : kNamespaces)
        if (!same_ns(*pid, ns.name)) flags |= ns.flag;
    if (!(flags & CLONE_NEWUSER))
        return error_line(plain_error(fmt::format("process {} is in our own user namespace; is "
                                                  "{} a rootlesskit state dir?",
                                                  *pid, *sd)));
    char cwd[4096];
    bool have_cwd = ::getcwd(cwd, sizeof cwd) != nullptr;
    // One setns() with a pidfd joins them all at once (Linux >= 5.8).
    if (::setns(pidfd->get(), flags) != 0)
        return error_line(util::sys_error(fmt::format("cannot join the namespaces of {}", *pid)));
    if (!have_cwd || ::chdir(cwd) != 0) (void)!::chdir("/");

    std::vector<std::string> cmd = o.command;
    if (cmd.empty()) {
        const char* shell = std::getenv("SHELL");
        cmd = {shell && *shell ? shell : "/bin/sh"};
    }
    if (!(flags & CLONE_NEWPID)) exec_command(cmd);

    // A PID namespace applies to children only: run the command as one and pass its status on.
    sigset_t set, old;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD})
        sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, &old);
    pid_t child = ::fork();
    if (child < 0) return error_line(util::sys_error("fork"));
    if (child == 0) {
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        exec_command(cmd);
    }
    for (;;) {
        siginfo_t si{};
        int sig = ::sigwaitinfo(&set, &si);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            ::kill(child, sig);
            continue;
        }
        int status = 0;
        if (::waitpid(child, &status, WNOHANG) == child)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

} // namespace rk::setuptool
