// Purpose: the embedded network process's sandbox (see sandbox.hpp).
#include "netd/sandbox.hpp"

#include "util/fd.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

// Newer than Debian 12's kernel headers (ABI 3, 5 and 6); the values are kernel ABI.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

namespace rk::netd {
using util::fail;
using util::plain_error;

namespace {

long landlock_abi() {
    return ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
}

// Every file-system right the ABI knows: handled, so denied unless a rule grants it.
uint64_t fs_rights(long abi) {
    uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; // ABI 1
    if (abi >= 2) r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) r |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return r;
}

util::Status allow_read(int ruleset, const std::string& dir) {
    util::Fd fd(::open(dir.c_str(), O_PATH | O_CLOEXEC));
    if (!fd) return {}; // nothing there to read
    landlock_path_beneath_attr pb{};
    pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    pb.parent_fd = fd.get();
    if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
        return fail(util::sys_error("landlock_add_rule " + dir));
    return {};
}

// Returns false when the kernel has no Landlock (not built in, or not in the lsm= list).
util::Result<bool> enter_landlock() {
    long abi = landlock_abi();
    if (abi < 1) return false;
    struct Attr { // landlock_ruleset_attr of the newest ABI we use, filled per the running one
        uint64_t handled_access_fs;
        uint64_t handled_access_net;
        uint64_t scoped;
    } attr{fs_rights(abi), 0, 0};
    size_t size = sizeof(uint64_t);
    if (abi >= 6) {
        attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
        size = sizeof attr;
    }
    util::Fd rs(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0)));
    if (!rs) return fail(util::sys_error("landlock_create_ruleset"));
    // libslirp reads /etc/resolv.conf for the host's DNS servers (and glibc /etc/hosts etc.);
    // resolv.conf is often a symlink into /run (systemd-resolved, resolvconf).
    RK_TRY(allow_read(rs.get(), "/etc"));
    char real[PATH_MAX];
    if (::realpath("/etc/resolv.conf", real)) {
        std::string dir(real);
        dir = dir.substr(0, dir.rfind('/'));
        if (!dir.empty() && dir != "/etc") RK_TRY(allow_read(rs.get(), dir));
    }
    if (::syscall(SYS_landlock_restrict_self, rs.get(), 0) != 0)
        return fail(util::sys_error("landlock_restrict_self"));
    // Belt and braces: the root directory is outside every rule, so reading it must fail now.
    if (util::Fd probe(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); probe || errno != EACCES)
        return fail(plain_error("Landlock did not take effect: \"/\" can still be read"));
    return true;
}

// `name` (its flags in argument `flags_arg`) allowed when the flags ask for reading only; each
// write mode (the rules are disjoint from the allowing one) gets EPERM.
util::Status allow_read_only_open(scmp_filter_ctx ctx, const char* name, unsigned flags_arg) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return {}; // not on this architecture (open on arm64)
    auto masked = [flags_arg](scmp_datum_t mask, scmp_datum_t value) {
        return scmp_arg_cmp{flags_arg, SCMP_CMP_MASKED_EQ, mask, value};
    };
    const scmp_datum_t writes = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, masked(writes, 0));
    for (scmp_datum_t bit : {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND})
        if (rc == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(kSeccompDenied), nr, 1, masked(bit, bit));
    if (rc != 0) return fail(plain_error(std::string("seccomp_rule_add ") + name));
    return {};
}

util::Status enter_seccomp() {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx) return fail(plain_error("seccomp_init failed"));
    struct Guard {
        scmp_filter_ctx c;
        ~Guard() { seccomp_release(c); }
    } g{ctx};
    // The loop (poll, read/write on the tap and sockets), libslirp's sockets, memory, time.
    static const char* const kAllowed[] = {"read",
                                           "write",
                                           "readv",
                                           "writev",
                                           "recvfrom",
                                           "sendto",
                                           "recvmsg",
                                           "sendmsg",
                                           "recvmmsg",
                                           "sendmmsg",
                                           "connect",
                                           "bind",
                                           "listen",
                                           "accept",
                                           "accept4",
                                           "getsockopt",
                                           "setsockopt",
                                           "getsockname",
                                           "getpeername",
                                           "shutdown",
                                           "close",
                                           "poll",
                                           "ppoll",
                                           "fcntl",
                                           "newfstatat",
                                           "fstat",
                                           "stat",
                                           "lstat",
                                           "statx",
                                           "lseek",
                                           "mmap",
                                           "munmap",
                                           "mremap",
                                           "brk",
                                           "madvise",
                                           "mprotect",
                                           "futex",
                                           "clock_gettime",
                                           "clock_nanosleep",
                                           "gettimeofday",
                                           "nanosleep",
                                           "getrandom",
                                           "getpid",
                                           "gettid",
                                           "rt_sigreturn",
                                           "rt_sigprocmask",
                                           "rt_sigaction",
                                           "sched_yield",
                                           "exit",
                                           "exit_group",
                                           "uname",
                                           "restart_syscall",
                                           "pipe2",
                                           "eventfd2",
                                           "getuid",
                                           "geteuid",
                                           "getgid",
                                           "getegid",
                                           "rseq",
                                           "set_robust_list",
                                           "prlimit64",
                                           "sigaltstack", // sanitizer runtimes, at exit
                                           "sysinfo"};
    for (const char* name : kAllowed) {
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) continue; // not on this architecture
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
            return fail(plain_error(std::string("seccomp_rule_add ") + name));
    }
    // Sockets: IPv4 and IPv6 only (no unix, netlink, packet sockets).
    for (int domain : {AF_INET, AF_INET6})
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                             SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(domain))) != 0)
            return fail(plain_error("seccomp_rule_add socket"));
    // Files: read-only opens only (libslirp reads /etc/resolv.conf); a write mode gets EPERM.
    // ioctl: FIONREAD only (libslirp asks how much a socket holds); any other request - the tun
    // device's among them - gets EPERM. An errno, unlike the kill above, leaves a library that
    // merely probes running, and tells the two apart from Landlock's EACCES.
    RK_TRY(allow_read_only_open(ctx, "openat", 2));
    RK_TRY(allow_read_only_open(ctx, "open", 1));
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                         SCMP_A1_32(SCMP_CMP_EQ, FIONREAD)) != 0 ||
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(kSeccompDenied), SCMP_SYS(ioctl), 1,
                         SCMP_A1_32(SCMP_CMP_NE, FIONREAD)) != 0)
        return fail(plain_error("seccomp_rule_add ioctl"));
    if (int rc = seccomp_load(ctx); rc != 0)
        return fail(util::Error{-rc, "cannot load the seccomp filter", ""});
    return {};
}

} // namespace

util::Result<Sandbox> enter_sandbox(bool allow_without_landlock) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail(util::sys_error("PR_SET_NO_NEW_PRIVS"));
    Sandbox s;
    s.landlock = RK_TRY(enter_landlock());
    if (!s.landlock && !allow_without_landlock)
        return fail(plain_error(
            fmt::format("the kernel has no Landlock ({}), which confines the embedded network's "
                        "file access",
                        std::strerror(errno)),
            "use a kernel with Landlock (5.13 or newer, \"landlock\" in lsm=), another --net "
            "driver, or set ROOTLESSKIT_NETD_WITHOUT_LANDLOCK=1 to run it under seccomp alone"));
    RK_TRY(enter_seccomp());
    return s;
}

} // namespace rk::netd
