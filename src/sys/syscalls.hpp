// Purpose: every raw syscall wrapper the project needs that glibc 2.36 does not expose,
// plus the one place EINTR is retried.
#pragma once

#include <cerrno>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rk::sys {

// Retries a syscall-like call while it fails with EINTR.
template <typename F> auto retry_eintr(F&& f) {
    for (;;) {
        auto r = f();
        if (!(r == -1 && errno == EINTR)) return r;
    }
}

// fork(2) with namespace flags: the child returns 0 and continues on a copy of the caller's
// stack, like fork(). Only safe while the caller is single-threaded.
inline pid_t clone_fork(unsigned long flags) {
    return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
}

inline int open_tree(int dfd, const char* path, unsigned flags) {
    return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}

inline int move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
    return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}

inline int close_range(unsigned first, unsigned last, unsigned flags) {
    return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

// Closes (or, with `cloexec`, marks close-on-exec) every fd from `first` up. close_range(2)
// where the kernel has it (5.9; CLOSE_RANGE_CLOEXEC 5.11), else one call per fd below the
// open-files limit. Syscalls only: safe between fork/vfork and exec.
inline void close_fds_from(unsigned first, bool cloexec) {
    if (close_range(first, ~0U, cloexec ? 4U /* CLOSE_RANGE_CLOEXEC */ : 0U) == 0) return;
    rlimit rl{};
    rlim_t limit = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (limit > (1U << 20)) limit = 1U << 20;
    for (rlim_t fd = first; fd < limit; ++fd) {
        if (cloexec)
            ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
        else
            ::close(static_cast<int>(fd));
    }
}

// kcmp(2): 0 when the two processes' resources of `type` (KCMP_FILES, KCMP_FILE with fds
// x and y) are the same, -1 with errno when the kernel cannot say (no CONFIG_KCMP: ENOSYS).
inline int kcmp(pid_t a, pid_t b, int type, unsigned long x, unsigned long y) {
    return static_cast<int>(::syscall(SYS_kcmp, a, b, type, x, y));
}

inline int pidfd_open(pid_t pid, unsigned flags) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags));
}

inline int pidfd_send_signal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

} // namespace rk::sys
