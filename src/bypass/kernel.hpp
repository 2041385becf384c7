// Purpose: the kernel side of the socket bypass: the seccomp filter that turns connect() into a
// user notification, the notification ioctls, pidfd_getfd, and the start-up probe that refuses
// a kernel lacking any of them.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace rk::bypass {

// The filter: connect() on the native architecture raises a user notification when its
// address length is one an IPv4 or IPv6 address comes with (kTrappedAddrLens); every other
// connect() - AF_UNIX ones, whose length is the path's (a Docker client's to docker.sock, say),
// netlink, ... - every other syscall, and every syscall of another ABI (a 32-bit program in a
// container) goes on without stopping.
// sockaddr_in, the RFC 2133 sockaddr_in6 (no scope id), sockaddr_in6, sockaddr_storage.
inline constexpr unsigned kTrappedAddrLens[] = {16, 24, 28, 128};
// Built with libseccomp once, by the parent before start-up (the child inherits it through
// ChildStartup).
using FilterProgram = std::vector<sock_filter>;
util::Result<FilterProgram> build_filter();
inline sock_fprog fprog(const FilterProgram& f) {
    return {static_cast<unsigned short>(f.size()), const_cast<sock_filter*>(f.data())};
}

// Installs `prog` on the calling thread and returns the listener fd, or -1 with errno.
// Syscalls only: safe in a vfork child. Needs CAP_SYS_ADMIN in the caller's user namespace
// (the child has it), so no_new_privs is not set and setuid programs inside keep working.
inline int install_filter(const sock_fprog* prog) {
    return static_cast<int>(
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, prog));
}

// Everything the bypass needs of the kernel, tried once before start-up: SO_NETNS_COOKIE
// (5.14), pidfd_getfd (5.6), seccomp user notification with a listener (5.0),
// SECCOMP_IOCTL_NOTIF_ADDFD (5.9) and SIOCGSKNS (4.9). The error says which is missing and
// that the flag must go. Threads' pidfds (PIDFD_THREAD 6.9, else kcmp) only warn.
util::Status probe_kernel(const FilterProgram& filter);

// The network namespace's cookie of a socket (SO_NETNS_COOKIE, Linux 5.14; any socket, no
// capability), 0 if the kernel cannot say.
inline uint64_t netns_cookie(int sock) {
    uint64_t cookie = 0;
    socklen_t l = sizeof cookie;
    if (::getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &l) != 0) return 0;
    return cookie;
}

inline int pidfd_getfd(int pidfd, int fd) {
    return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
}

// The notification ioctls, -1 with errno on failure.
inline int notif_recv(int listener, seccomp_notif* n) {
    return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n);
}
inline int notif_send(int listener, seccomp_notif_resp* r) {
    return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, r);
}
inline bool notif_id_valid(int listener, __u64 id) {
    return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}
// Asks the kernel to wake the receiving thread on the caller's CPU and the caller on ours
// (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, Linux 6.6): for a supervisor that answers each
// notification at once, as ours does. False where the kernel lacks it.
inline bool notif_sync_wakeup(int listener) {
    constexpr unsigned long kSetFlags = SECCOMP_IOW(4, __u64); // SECCOMP_IOCTL_NOTIF_SET_FLAGS
    constexpr __u64 kSyncWakeUp = 1;                           // ..._FD_SYNC_WAKE_UP
    return ::ioctl(listener, kSetFlags, kSyncWakeUp) == 0;
}

// Puts `src` in the caller's table as `target_fd` (replacing what was there).
inline int notif_addfd(int listener, __u64 id, int src, int target_fd, bool cloexec) {
    seccomp_notif_addfd a{};
    a.id = id;
    a.flags = SECCOMP_ADDFD_FLAG_SETFD;
    a.srcfd = static_cast<__u32>(src);
    a.newfd = static_cast<__u32>(target_fd);
    a.newfd_flags = cloexec ? O_CLOEXEC : 0;
    return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
}

} // namespace rk::bypass
