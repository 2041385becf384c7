// Purpose: the socket bypass's filter and kernel probe (see kernel.hpp).
#include "bypass/kernel.hpp"

#include "bypass/caller.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

namespace rk::bypass {
using util::fail;
namespace log = util::log;

util::Result<FilterProgram> build_filter() {
    scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) return fail(util::plain_error("seccomp_init failed"));
    auto release = [&] { ::seccomp_release(ctx); };
    int rc = ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (rc == 0) rc = ::seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
    for (unsigned len : kTrappedAddrLens)
        if (rc == 0)
            rc = ::seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 1,
                                    SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffU, len));
    util::Fd mem(::memfd_create("rootlesskit-bypass-filter", MFD_CLOEXEC));
    if (rc == 0 && !mem) rc = -errno;
    if (rc == 0) rc = ::seccomp_export_bpf(ctx, mem.get());
    release();
    if (rc != 0) return fail(util::sys_error(-rc, "building the socket bypass's seccomp filter"));
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
        return fail(util::plain_error("libseccomp exported an empty or torn filter"));
    FilterProgram p(static_cast<size_t>(size) / sizeof(sock_filter));
    if (::pread(mem.get(), p.data(), static_cast<size_t>(size), 0) != size)
        return fail(util::sys_error("reading the exported seccomp filter"));
    return p;
}

util::Status probe_kernel(const FilterProgram& filter) {
    const std::string fix = "run without --socket-bypass, or on Linux 5.14 or newer";
    auto with_fix = [&](util::Error e) {
        e.hint = fix;
        return fail(e);
    };
    // The network namespace of a socket, by cookie: every connect's first question.
    {
        util::Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!s || netns_cookie(s.get()) == 0)
            return with_fix(
                util::sys_error("--socket-bypass: the kernel lacks SO_NETNS_COOKIE (Linux 5.14)"));
    }
    // pidfd_getfd on ourselves.
    util::Fd self(sys::pidfd_open(::getpid(), 0));
    if (!self) return with_fix(util::sys_error("--socket-bypass: pidfd_open"));
    util::Fd copy(pidfd_getfd(self.get(), self.get()));
    if (!copy)
        return with_fix(
            util::sys_error("--socket-bypass: the kernel lacks pidfd_getfd (Linux 5.6)"));
    // A listener and ADDFD, in a throwaway process (a filter cannot be removed). An unknown
    // notification id must give ENOENT; a kernel without ADDFD says EINVAL. Then SIOCGSKNS
    // (which network namespace a socket is in): on our own socket, in the host's namespace
    // where we lack CAP_NET_ADMIN, EPERM says it exists (we have that capability in the
    // namespaces the child's user namespace owns, the only ones we ask about).
    sock_fprog prog = fprog(filter);
    pid_t pid = ::fork();
    if (pid < 0) return fail(util::sys_error("fork"));
    if (pid == 0) {
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        int l = install_filter(&prog);
        if (l < 0) ::_exit(2);
        if (notif_addfd(l, 0x5eed, 0, 0, false) == 0 || errno != ENOENT) ::_exit(3);
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || (::ioctl(s, SIOCGSKNS) < 0 && errno != EPERM)) ::_exit(4);
        ::_exit(0);
    }
    int status = 0;
    sys::retry_eintr([&] { return ::waitpid(pid, &status, 0); });
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
        return fail(util::plain_error(
            "--socket-bypass: the kernel refused a seccomp filter with a user-notification "
            "listener (Linux 5.0)",
            fix));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 4)
        return fail(
            util::plain_error("--socket-bypass: the kernel lacks SIOCGSKNS (Linux 4.9)", fix));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(util::plain_error(
            "--socket-bypass: the kernel lacks SECCOMP_IOCTL_NOTIF_ADDFD (Linux 5.9)", fix));
    // Threads: a pidfd of their own (6.9), else their group's, once kcmp shows that they share
    // its fd table (caller.hpp). Without either, only connects from a process's first thread
    // are bypassed: say so, but go on.
    if (probe_thread_pidfd() == ThreadPidfd::Unsupported &&
        sys::kcmp(::getpid(), ::getpid(), KCMP_FILES, 0, 0) != 0)
        log::warn("--socket-bypass: this kernel has neither PIDFD_THREAD (Linux 6.9) nor kcmp "
                  "(CONFIG_KCMP): connects from threads other than a process's first are not "
                  "bypassed");
    return {};
}

} // namespace rk::bypass
