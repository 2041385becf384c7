// Purpose: checks made before any namespace exists (see preflight.hpp).
#include "parent/preflight.hpp"

#include "sys/fs.hpp"
#include "sys/syscalls.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace rk::parent {
using util::fail;
using util::plain_error;

util::Result<User> current_user() {
    uid_t uid = ::getuid();
    passwd pw{}, *res = nullptr;
    std::vector<char> buf(16384);
    int rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res);
    if (rc != 0 || !res)
        return fail(plain_error(fmt::format("cannot find uid {} in the user database", uid),
                                "add the user to /etc/passwd (or your NSS source)"));
    return User{uid, pw.pw_gid, pw.pw_name};
}

static util::Result<std::string> find_privileged_tool(const std::string& name) {
    auto path = sys::find_in_path(name);
    if (!path)
        return fail(plain_error(
            name + " not found in PATH",
            "install it: `apt-get install uidmap` (Debian/Ubuntu), `dnf install shadow-utils` "
            "(Fedora), `pacman -S shadow` (Arch)"));
    struct stat st {};
    if (::stat(path->c_str(), &st) != 0) return fail(util::sys_error("cannot stat " + *path));
    bool setuid_root = (st.st_mode & S_ISUID) && st.st_uid == 0;
    bool has_caps = ::getxattr(path->c_str(), "security.capability", nullptr, 0) > 0;
    if (!setuid_root && !has_caps && ::getuid() != 0)
        return fail(plain_error(
            fmt::format("{} is neither setuid root nor has file capabilities, so it cannot write "
                        "the ID maps",
                        *path),
            fmt::format("as root: `chown root {0} && chmod u+s {0}` (or `setcap "
                        "cap_set{1}id+ep {0}`), or reinstall the uidmap package",
                        *path, name == "newuidmap" ? "u" : "g")));
    return *path;
}

util::Result<std::pair<std::string, std::string>> find_idmap_tools() {
    auto u = RK_TRY(find_privileged_tool("newuidmap"));
    auto g = RK_TRY(find_privileged_tool("newgidmap"));
    return std::pair{u, g};
}

static std::optional<long> read_long(const char* path) {
    auto t = sys::read_file(path);
    if (!t) return std::nullopt;
    auto v = util::parse_i64(util::trim(*t));
    if (!v) return std::nullopt;
    return static_cast<long>(*v);
}

UsernsSysctls read_userns_sysctls() {
    return {read_long("/proc/sys/user/max_user_namespaces"),
            read_long("/proc/sys/kernel/unprivileged_userns_clone"),
            read_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")};
}

std::string apparmor_hint(const UsernsSysctls& s) {
    if (s.apparmor_restrict_unprivileged.value_or(0) != 1) return {};
    char exe[4096];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    std::string path =
        n > 0 ? std::string(exe, static_cast<size_t>(n)) : "/usr/local/bin/rootlesskit";
    std::string profile = path.substr(1);
    for (auto& c : profile)
        if (c == '/') c = '.';
    return fmt::format(
        "AppArmor restricts unprivileged user namespaces "
        "(kernel.apparmor_restrict_unprivileged_userns=1); as root, allow this binary with a "
        "profile: printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile {0} {1} "
        "flags=(unconfined) {{\\n  userns,\\n}}\\n' > /etc/apparmor.d/{0} && systemctl reload "
        "apparmor",
        profile, path);
}

util::Error diagnose_userns_failure(int err, const UsernsSysctls& s) {
    util::Error e{err, "failed to create the user namespace", {}};
    if (s.max_user_namespaces && *s.max_user_namespaces == 0)
        e.hint = "user namespaces are disabled (user.max_user_namespaces = 0); as root: `sysctl "
                 "-w user.max_user_namespaces=28633` and persist it in /etc/sysctl.d/";
    else if (s.unprivileged_userns_clone && *s.unprivileged_userns_clone == 0)
        e.hint = "unprivileged user namespaces are disabled "
                 "(kernel.unprivileged_userns_clone = 0); as root: `sysctl -w "
                 "kernel.unprivileged_userns_clone=1` and persist it in /etc/sysctl.d/";
    else if (s.apparmor_restrict_unprivileged.value_or(0) == 1 && (err == EACCES || err == EPERM))
        e.hint = apparmor_hint(s);
    else if (err == ENOSPC)
        e.hint = "the limit of user namespaces is reached (user.max_user_namespaces); raise it "
                 "as root, or end other rootless sessions";
    else if (err == EPERM)
        e.hint = "the kernel or a security module forbids unprivileged user namespaces here "
                 "(inside a container? run it with a seccomp profile that allows them)";
    return e;
}

util::Status check_kernel_features() {
    const char* fix = "run on Linux 5.14 or newer (the oldest kernel rootlesskit-cpp is tested on; "
                      "docs/compatibility.md, Kernels)";
    util::Fd tree(sys::open_tree(AT_FDCWD, "/", OPEN_TREE_CLOEXEC));
    if (!tree && errno == ENOSYS)
        return util::fail(util::plain_error(
            "this kernel lacks open_tree (Linux 5.2), which copy-up and the namespace's "
            "network files need",
            fix));
    util::Fd self(sys::pidfd_open(::getpid(), 0));
    if (!self && errno == ENOSYS)
        return util::fail(util::plain_error(
            "this kernel lacks pidfd_open (Linux 5.3), which rootlesskit watches its helpers with",
            fix));
    return {};
}

bool root_is_shared() {
    bool shared = false;
    for (const auto& m : sys::own_mounts()) {
        if (m.mountpoint != "/") continue;
        shared = false; // the last mount on "/" is the visible one
        for (const auto& o : m.optional)
            if (util::starts_with(o, "shared:")) shared = true;
    }
    return shared;
}

const char* const kProcSysReadOnlyFix =
    "add --pidns for a /proc of the namespace's own (Docker: "
    "DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=--pidns; rootless-setuptool install: --rootlesskit-flags "
    "--pidns); where the kernel refuses that because the container masks parts of /proc, run the "
    "container with a writable /proc/sys: Docker --security-opt systempaths=unconfined, "
    "systemd-nspawn --private-network";

bool proc_sys_read_only() {
    struct statvfs sv {};
    return ::statvfs("/proc/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY) != 0;
}

void warn_environment(const proto::Options& opts, const UsernsSysctls& s) {
    if (s.unprivileged_userns_clone && *s.unprivileged_userns_clone == 0)
        util::log::warn("/proc/sys/kernel/unprivileged_userns_clone is 0; set it to 1");
    if (s.max_user_namespaces && *s.max_user_namespaces > 0 && *s.max_user_namespaces < 1024)
        util::log::warn("/proc/sys/user/max_user_namespaces is {}; it should be at least 1024",
                        *s.max_user_namespaces);
    if (opts.net != "host" && !opts.pidns && proc_sys_read_only())
        util::log::warn("/proc/sys is read-only here, and without --pidns the namespace keeps "
                        "it: a daemon inside cannot set its network sysctls (dockerd: \"Enabling "
                        "IP forwarding failed\") ({})",
                        kProcSysReadOnlyFix);
    if (opts.propagation != "private" && opts.propagation != "rprivate" && !root_is_shared())
        util::log::warn("--propagation={} has no effect because / on the host is not a shared "
                        "mount (see `findmnt -o PROPAGATION /`); as root, `mount --make-rshared /`",
                        opts.propagation);
}

} // namespace rk::parent
