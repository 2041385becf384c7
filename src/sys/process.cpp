// Purpose: running helper programs with captured output; wait-status wording.
#include "sys/process.hpp"

#include "sys/fs.hpp"
#include "sys/syscalls.hpp"

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace rk::sys {
using util::fail;
using util::sys_error;

bool HelperResult::ok() const {
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

util::Result<Helper> spawn_helper(std::vector<std::string> argv) {
    auto exe = find_in_path(argv.at(0));
    if (!exe) return fail(util::plain_error(argv[0] + ": executable file not found in $PATH"));
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return fail(sys_error("pipe2"));
    util::Fd rd(p[0]), wr(p[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    util::Defer destroy([&] { posix_spawn_file_actions_destroy(&fa); });
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, wr.get(), STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    util::Defer destroy_attr([&] { posix_spawnattr_destroy(&attr); });
    // The caller may have every signal blocked (signalfd) and SIGPIPE ignored; the helper must
    // start clean (pasta refuses to start with SIGPIPE ignored).
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> cargv;
    for (auto& a : argv)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, exe->c_str(), &fa, &attr, cargv.data(), environ);
    if (rc != 0) return fail(sys_error(rc, "cannot execute " + *exe));
    return Helper{pid, std::move(rd), std::move(argv)};
}

util::Result<HelperResult> finish_helper(Helper& h) {
    HelperResult r;
    char buf[1024];
    for (;;) {
        ssize_t n = retry_eintr([&] { return ::read(h.output.get(), buf, sizeof buf); });
        if (n <= 0) break;
        if (r.output.size() < 64 * 1024) r.output.append(buf, static_cast<size_t>(n));
    }
    h.output.reset();
    if (retry_eintr([&] { return ::waitpid(h.pid, &r.status, 0); }) < 0)
        return fail(sys_error("waitpid " + h.argv.at(0)));
    h.pid = -1;
    return r;
}

std::string signal_description(int sig) {
    const char* s = ::strsignal(sig);
    std::string d = s ? s : fmt::format("signal {}", sig);
    if (!d.empty()) d[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(d[0])));
    return d;
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        std::string s = "signal: " + signal_description(WTERMSIG(status));
        if (WCOREDUMP(status)) s += " (core dumped)";
        return s;
    }
    return fmt::format("wait status {:#x}", status);
}

pid_t fork_bound_to_parent() {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127); // it died before the line above took effect
    return 0;
}

void kill_and_reap(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    int st;
    retry_eintr([&] { return ::waitpid(pid, &st, 0); });
}

rlim_t raise_nofile_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
    if (lim.rlim_cur >= lim.rlim_max) return lim.rlim_cur;
    rlimit raised{lim.rlim_max, lim.rlim_max};
    return ::setrlimit(RLIMIT_NOFILE, &raised) == 0 ? raised.rlim_cur : lim.rlim_cur;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
    auto stat = read_file(fmt::format("/proc/{}/stat", pid));
    if (!stat) return std::nullopt;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    auto paren = stat->rfind(')');
    if (paren == std::string::npos) return std::nullopt;
    ProcStat ps;
    long ppid = -1;
    if (std::sscanf(stat->c_str() + paren + 1, " %c %ld", &ps.state, &ppid) != 2)
        return std::nullopt;
    ps.ppid = static_cast<pid_t>(ppid);
    return ps;
}

} // namespace rk::sys
