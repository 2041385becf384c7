// Purpose: the prerequisite checks of `rootless-setuptool check` (see check.hpp).
#include "setuptool/check.hpp"

#include "net/pasta.hpp"
#include "port/listener.hpp"
#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

namespace rk::setuptool {

namespace {

constexpr long kNfsMagic = 0x6969;
constexpr uint64_t kWantedSubids = 65536;

Finding make(std::string name, Severity sev, std::string found, std::string fix = {}) {
    return Finding{std::move(name), sev, std::move(found), std::move(fix)};
}

std::string fs_name(long magic) {
    switch (static_cast<unsigned long>(magic) & 0xffffffffUL) {
    case 0xEF53:
        return "ext4";
    case 0x58465342:
        return "xfs";
    case 0x9123683E:
        return "btrfs";
    case 0x01021994:
        return "tmpfs";
    case 0x794c7630:
        return "overlay";
    case 0x6969:
        return "nfs";
    case 0x65735546:
        return "fuse";
    case 0x2fc12fc1:
        return "zfs";
    default:
        return fmt::format("file system 0x{:x}", magic);
    }
}

} // namespace

std::string_view severity_name(Severity s) {
    switch (s) {
    case Severity::Ok:
        return "ok";
    case Severity::Info:
        return "info";
    case Severity::Warn:
        return "warn";
    case Severity::Fail:
        return "fail";
    }
    return "?";
}

// ---- diagnoses -------------------------------------------------------------------------------

Finding diagnose_running_user(const parent::User& user) {
    if (user.uid == 0)
        return make("user", Severity::Fail,
                    "running as root; these checks are about the user who will run rootless mode",
                    "run `rootless-setuptool check` as that user (log in as them; not via sudo)");
    return make("user", Severity::Ok, fmt::format("{} (uid {})", user.name, user.uid));
}

Finding diagnose_idmap_tools(const util::Result<std::pair<std::string, std::string>>& tools) {
    if (!tools) return make("newuidmap", Severity::Fail, tools.error().context, tools.error().hint);
    return make("newuidmap", Severity::Ok,
                fmt::format("{} and {} may write ID maps", tools->first, tools->second));
}

Finding diagnose_subids(parent::IdKind kind, const parent::User& user,
                        const util::Result<std::vector<parent::SubidRange>>& ranges,
                        uint64_t free_start) {
    const bool uid = kind == parent::IdKind::Uid;
    const std::string name = uid ? "subuid" : "subgid";
    const std::string file = uid ? "/etc/subuid" : "/etc/subgid";
    const uint64_t own = uid ? user.uid : user.gid;
    const std::string fix_add = fmt::format(
        "as root: `usermod --add-sub{0}s {1}-{2} {3}` (or add the line \"{3}:{1}:65536\" to {4})",
        uid ? "uid" : "gid", free_start, free_start + kWantedSubids - 1, user.name, file);
    if (!ranges) return make(name, Severity::Fail, ranges.error().message(), fix_add);
    if (ranges->empty())
        return make(
            name, Severity::Fail,
            fmt::format("no range for {} ({} {}) in {}", user.name, uid ? "uid" : "gid", own, file),
            fix_add);
    uint64_t total = 0;
    std::vector<std::string> shown;
    for (const auto& r : *ranges) {
        total += r.count;
        shown.push_back(fmt::format("{}-{}", r.start, r.start + r.count - 1));
        if (own >= r.start && own < r.start + r.count)
            return make(
                name, Severity::Fail,
                fmt::format("the range {}:{}:{} in {} contains {}'s own {} {}; the ID map "
                            "would map it twice",
                            user.name, r.start, r.count, file, user.name, uid ? "uid" : "gid", own),
                fmt::format("as root, move the range off {}: edit {} (e.g. \"{}:{}:65536\")", own,
                            file, user.name, free_start));
    }
    std::string found =
        fmt::format("{} IDs for {} in {} ({})", total, user.name, file, fmt::join(shown, ", "));
    if (total < kWantedSubids)
        return make(name, Severity::Warn,
                    found + "; images with higher IDs fail to pull (\"lchown <FILE>: invalid "
                            "argument\")",
                    "as root, give the user at least 65536: " + fix_add);
    return make(name, Severity::Ok, found);
}

Finding diagnose_userns(int probe_errno, const parent::UsernsSysctls& s) {
    if (probe_errno == 0) {
        std::string found = "an unprivileged user namespace can be created";
        if (s.max_user_namespaces)
            found += fmt::format(" (max_user_namespaces={})", *s.max_user_namespaces);
        if (s.max_user_namespaces && *s.max_user_namespaces < 1024)
            return make("userns", Severity::Warn, found + "; the limit is low for container hosts",
                        "as root: add `user.max_user_namespaces=28633` to /etc/sysctl.d/"
                        "99-rootless.conf and run `sudo sysctl --system`");
        return make("userns", Severity::Ok, found);
    }
    util::Error e = parent::diagnose_userns_failure(probe_errno, s);
    std::string hint = e.hint;
    if (hint.empty())
        hint = "check the kernel (CONFIG_USER_NS) and any seccomp or LSM policy that blocks "
               "unshare(CLONE_NEWUSER)";
    return make("userns", Severity::Fail,
                fmt::format("{}: {}", e.context, std::strerror(probe_errno)), hint);
}

Finding diagnose_xdg_runtime_dir(const std::optional<std::string>& value, const PathFacts& facts,
                                 uid_t uid) {
    const std::string make_one =
        "log in through pam_systemd (a graphical or ssh login, or `machinectl shell USER@`; not "
        "`sudo -iu`) so that /run/user/UID is made for you, or without systemd: `export "
        "XDG_RUNTIME_DIR=$HOME/.docker/run; mkdir -p -m 700 $XDG_RUNTIME_DIR` (and remove it at "
        "every logout)";
    if (!value || value->empty())
        return make("xdg-runtime-dir", Severity::Fail,
                    "XDG_RUNTIME_DIR is not set (dockerd-rootless.sh: \"could not get "
                    "XDG_RUNTIME_DIR\")",
                    make_one);
    if (!facts.exists)
        return make("xdg-runtime-dir", Severity::Fail,
                    fmt::format("XDG_RUNTIME_DIR={} does not exist", *value),
                    fmt::format("mkdir -p -m 700 {}", *value));
    if (!facts.is_dir)
        return make("xdg-runtime-dir", Severity::Fail,
                    fmt::format("XDG_RUNTIME_DIR={} is not a directory", *value), make_one);
    if (facts.owner != uid)
        return make("xdg-runtime-dir", Severity::Fail,
                    fmt::format("XDG_RUNTIME_DIR={} is owned by uid {}, not by you (uid {})",
                                *value, facts.owner, uid),
                    make_one);
    std::string clean = sys::clean_path(*value);
    if (clean == "/tmp" || util::starts_with(clean, "/tmp/"))
        return make("xdg-runtime-dir", Severity::Warn,
                    fmt::format("XDG_RUNTIME_DIR={} is under /tmp, where other users can race "
                                "you for names (TOCTOU)",
                                *value),
                    make_one);
    if (facts.mode & 077)
        return make("xdg-runtime-dir", Severity::Warn,
                    fmt::format("XDG_RUNTIME_DIR={} is open to others (mode {:04o})", *value,
                                facts.mode & 07777),
                    fmt::format("chmod 700 {}", *value));
    return make("xdg-runtime-dir", Severity::Ok, fmt::format("{} (yours, mode 0700)", *value));
}

Finding diagnose_device(const std::string& name, const std::string& path, int open_errno,
                        const std::string& needed_for, Severity when_missing) {
    if (open_errno == 0) return make(name, Severity::Ok, path + " is usable");
    std::string fix;
    if (open_errno == ENOENT || open_errno == ENODEV || open_errno == ENXIO)
        fix = fmt::format("as root: `modprobe {}`", name == "tun" ? "tun" : "fuse");
    else if (open_errno == EACCES || open_errno == EPERM)
        fix = fmt::format("as root: `chmod 0666 {}` (the mode most distributions ship)", path);
    return make(name, when_missing,
                fmt::format("cannot open {}: {}; {} will not work", path, std::strerror(open_errno),
                            needed_for),
                fix);
}

std::optional<Version> parse_helper_version(std::string_view output) {
    auto line = output.substr(0, output.find('\n'));
    for (auto word : util::fields(line)) {
        if (word.empty() || word.front() < '0' || word.front() > '9') continue;
        Version v;
        v.text = std::string(word);
        long cur = 0;
        bool digits = false;
        for (char c : word) {
            if (c >= '0' && c <= '9') {
                // A version part past a billion is not a version: saturate, never overflow.
                cur = cur > 100000000 ? 1000000000 : cur * 10 + (c - '0');
                digits = true;
            } else if (c == '.' || c == '_' || c == '-') {
                if (!digits) break;
                v.parts.push_back(cur);
                cur = 0;
                digits = false;
            } else {
                digits = false; // "b86afe3" and the like end the number
                break;
            }
        }
        if (digits) v.parts.push_back(cur);
        if (!v.parts.empty()) return v;
    }
    return std::nullopt;
}

bool version_at_least(const Version& v, std::initializer_list<long> min) {
    size_t i = 0;
    for (long m : min) {
        long have = i < v.parts.size() ? v.parts[i] : 0;
        if (have != m) return have > m;
        ++i;
    }
    return true;
}

Finding diagnose_slirp4netns(const std::optional<std::string>& path,
                             const std::optional<Version>& version, const Distro& distro) {
    if (!path)
        return make("slirp4netns", Severity::Warn,
                    "slirp4netns not found: Docker's dockerd-rootless.sh needs slirp4netns >= "
                    "0.4.0 (or vpnkit); rootlesskit --net=gvisor-tap-vsock needs neither",
                    install_command(distro, "slirp4netns"));
    if (version && !version_at_least(*version, {0, 4, 0}))
        return make(
            "slirp4netns", Severity::Warn,
            fmt::format("{} is version {}; rootless mode needs >= 0.4.0", *path, version->text),
            install_command(distro, "slirp4netns") + " (or a newer release)");
    return make("slirp4netns", Severity::Ok,
                fmt::format("{} {}", *path, version ? version->text : "(version not printed)"));
}

Finding diagnose_pasta(const std::optional<std::string>& path,
                       const std::optional<Version>& version, const util::Status& usable,
                       const Distro& distro) {
    if (!path)
        return make("pasta", Severity::Info, "pasta not found (only --net=pasta needs it)",
                    install_command(distro, "passt"));
    const std::string which = fmt::format(
        "{} {}", *path, version ? version->text : "(prints no version, as Debian 12's)");
    if (!usable)
        return make("pasta", Severity::Warn,
                    fmt::format("{}: --net=pasta cannot use it: {}", which, usable.error().context),
                    install_command(distro, "passt") + " (a newer release)");
    return make("pasta", Severity::Ok, which + ": has what --net=pasta uses (tried)");
}

Finding diagnose_kernel(const KernelFacts& k, const Distro& distro) {
    auto v = parse_helper_version(k.release);
    Version ver = v ? *v : Version{{0}, k.release};
    std::string name = fmt::format("kernel {}{}", k.release, k.ubuntu ? " (Ubuntu)" : "");
    if (k.ubuntu || version_at_least(ver, {5, 11}))
        return make("kernel", Severity::Ok,
                    name + ": overlayfs works without root (Docker overlay2; containerd and "
                           "BuildKit overlayfs snapshotter)");
    if (version_at_least(ver, {4, 18})) {
        if (k.fuse_overlayfs)
            return make("kernel", Severity::Ok,
                        name + ": use fuse-overlayfs (Docker storage driver, "
                               "--oci-worker-snapshotter=fuse-overlayfs for BuildKit)");
        return make("kernel", Severity::Warn,
                    name + ": overlayfs needs >= 5.11; fuse-overlayfs would work but is not "
                           "installed, so only vfs/native (slow, large) remains",
                    install_command(distro, "fuse-overlayfs"));
    }
    return make("kernel", Severity::Warn,
                name + ": only the vfs storage driver / native snapshotter works (fuse-overlayfs "
                       "needs >= 4.18)",
                "upgrade the kernel");
}

Finding diagnose_cgroup(const CgroupFacts& c, uid_t uid) {
    const std::string delegate_fix =
        fmt::format("as root: `mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\n"
                    "Delegate=cpu cpuset io memory pids\\n' > /etc/systemd/system/user@.service.d/"
                    "delegate.conf && systemctl daemon-reload`, then log in again (user {})",
                    uid);
    if (!c.v2)
        return make(
            "cgroup", Severity::Warn,
            "cgroup v1: --cpus, --memory and --pids-limit are ignored in rootless mode",
            "boot with cgroup v2 (kernel command line `systemd.unified_cgroup_hierarchy=1`)");
    if (!c.delegated)
        return make("cgroup", Severity::Warn,
                    "cgroup v2, but no cgroup of your systemd user service; resource limits need "
                    "systemd to delegate one",
                    "log in through pam_systemd so that user@" + std::to_string(uid) +
                        ".service runs");
    auto ctrls = util::fields(*c.delegated);
    auto has = [&](std::string_view n) {
        return std::find(ctrls.begin(), ctrls.end(), n) != ctrls.end();
    };
    std::string found = fmt::format(
        "cgroup v2, delegated to you: {}",
        util::trim(*c.delegated).empty() ? "(none)" : std::string(util::trim(*c.delegated)));
    if (!has("cpu") || !has("io") || !has("memory") || !has("pids"))
        return make("cgroup", Severity::Info, found + "; limits on the others are ignored",
                    delegate_fix);
    return make("cgroup", Severity::Ok, found);
}

Finding diagnose_ping_group_range(const std::optional<std::string>& range,
                                  const std::vector<gid_t>& gids) {
    const std::string fix = "as root: add `net.ipv4.ping_group_range = 0 2147483647` to "
                            "/etc/sysctl.d/99-rootless.conf and run `sudo sysctl --system`";
    if (!range) return make("ping", Severity::Info, "no /proc/sys/net/ipv4/ping_group_range");
    auto f = util::fields(*range);
    auto lo = f.size() == 2 ? util::parse_i64(f[0]) : std::nullopt;
    auto hi = f.size() == 2 ? util::parse_i64(f[1]) : std::nullopt;
    if (!lo || !hi)
        return make("ping", Severity::Info,
                    fmt::format("cannot read ping_group_range \"{}\"", util::trim(*range)));
    for (gid_t g : gids)
        if (static_cast<int64_t>(g) >= *lo && static_cast<int64_t>(g) <= *hi)
            return make("ping", Severity::Ok,
                        fmt::format("ping_group_range {} {} includes your group {}", *lo, *hi, g));
    return make(
        "ping", Severity::Warn,
        fmt::format("ping_group_range is \"{} {}\": ping does not work in containers", *lo, *hi),
        fix);
}

Finding diagnose_proc_sys(bool read_only) {
    if (!read_only) return make("proc-sys", Severity::Ok, "/proc/sys is writable");
    return make("proc-sys", Severity::Warn,
                "/proc/sys is read-only (a container?): without --pidns a rootless daemon cannot "
                "set its network sysctls (dockerd: \"Enabling IP forwarding failed\")",
                parent::kProcSysReadOnlyFix);
}

Finding diagnose_unprivileged_port_start(std::optional<long> start) {
    if (!start) return make("privileged-ports", Severity::Info, "no ip_unprivileged_port_start");
    if (*start <= 0)
        return make("privileged-ports", Severity::Ok, "every host port can be published");
    return make("privileged-ports", Severity::Info,
                fmt::format("host ports below {} cannot be published (\"cannot expose privileged "
                            "port\")",
                            *start),
                port::privileged_port_fix(0, *start));
}

Finding diagnose_data_dir(const std::string& dir, std::optional<long> fs_type) {
    if (!fs_type)
        return make("data-dir", Severity::Info, fmt::format("cannot stat {} or any parent", dir));
    if (*fs_type == kNfsMagic)
        return make("data-dir", Severity::Fail,
                    fmt::format("{} is on NFS: image layers fail with \"lchown <FILE>: operation "
                                "not permitted\"",
                                dir),
                    "put the daemon's data elsewhere, e.g. `{\"data-root\":\"/somewhere-not-on-"
                    "nfs\"}` in ~/.config/docker/daemon.json");
    return make("data-dir", Severity::Ok, fmt::format("{} is on {}", dir, fs_name(*fs_type)));
}

Finding diagnose_systemd(const SessionFacts& s, const std::string& user) {
    if (!s.systemctl || !s.booted)
        return make(
            "systemd", Severity::Info,
            fmt::format("{}: run daemons directly (`rootless-setuptool install` prints "
                        "the command)",
                        s.systemctl ? "systemd is not the init system here" : "no systemctl"));
    if (!s.user_manager)
        return make("systemd", Severity::Warn,
                    "your systemd user manager is not reachable, so `systemctl --user` fails "
                    "with \"Failed to connect to bus\"",
                    fmt::format("log in through pam_systemd (ssh {0}@localhost, `machinectl shell "
                                "{0}@`, a graphical login; not `sudo -iu {0}`); for start at "
                                "boot: `sudo loginctl enable-linger {0}`",
                                user));
    return make("systemd", Severity::Ok, "systemd user manager is running");
}

Finding diagnose_dbus(const SessionFacts& s, const Distro& distro) {
    if (s.dbus) return make("dbus", Severity::Ok, "the user's D-Bus session bus is there");
    if (s.systemctl && s.booted && s.cgroup_v2)
        return make("dbus", Severity::Warn,
                    "no D-Bus session bus: `docker run` fails with \"read unix "
                    "@->/run/systemd/private: read: connection reset by peer\"",
                    install_command(distro, "dbus-user-session") +
                        ", log in again; or `systemctl --user enable --now dbus`");
    return make("dbus", Severity::Info,
                "no D-Bus session bus (needed only with systemd and cgroup v2)");
}

// ---- gatherers -----------------------------------------------------------------------------

namespace {

// fork + unshare, as rootlesskit's clone() would; returns 0 or the errno.
int probe_userns() {
    pid_t pid = ::fork();
    if (pid < 0) return errno;
    if (pid == 0) {
        int rc = ::unshare(CLONE_NEWUSER | CLONE_NEWNS);
        ::_exit(rc == 0 ? 0 : (errno & 0xff));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
}

int probe_open(const char* path) {
    int fd = ::open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
}

std::optional<std::string> read_opt(const std::string& path) {
    auto t = sys::read_file(path);
    if (!t) return std::nullopt;
    return *t;
}

std::optional<Version> helper_version(const std::string& path) {
    auto h = sys::spawn_helper({path, "--version"});
    if (!h) return std::nullopt;
    auto r = sys::finish_helper(*h);
    if (!r) return std::nullopt;
    return parse_helper_version(r->output);
}

util::Result<std::vector<parent::SubidRange>> subids_of(parent::IdKind kind,
                                                        const parent::User& user) {
    auto r = parent::lookup_subids("auto", user);
    if (r) return kind == parent::IdKind::Uid ? r->uids : r->gids;
    // lookup_subids fails when either list is empty; read the one we were asked about alone.
    const char* file = kind == parent::IdKind::Uid ? "/etc/subuid" : "/etc/subgid";
    auto text = sys::read_file(file);
    if (!text) return std::vector<parent::SubidRange>{};
    return parent::parse_subid_file(*text, user, file);
}

std::optional<long> fs_type_of(std::string dir) {
    for (;;) {
        struct statfs sf {};
        if (::statfs(dir.c_str(), &sf) == 0) return static_cast<long>(sf.f_type);
        if (dir == "/" || dir.empty()) return std::nullopt;
        auto slash = dir.find_last_of('/');
        dir = slash == 0 ? "/" : dir.substr(0, slash);
    }
}

} // namespace

std::vector<Finding> run_checks(const CheckEnv& env) {
    std::vector<Finding> out;
    out.push_back(diagnose_running_user(env.user));
    out.push_back(diagnose_idmap_tools(parent::find_idmap_tools()));
    // Root's own sub-IDs are not what rootless mode needs: the user above will say whose are.
    for (auto kind : {parent::IdKind::Uid, parent::IdKind::Gid})
        out.push_back(env.user.uid == 0
                          ? make(kind == parent::IdKind::Uid ? "subuid" : "subgid", Severity::Info,
                                 "not checked for root: rootless mode runs as an unprivileged user")
                          : diagnose_subids(kind, env.user, subids_of(kind, env.user),
                                            parent::free_subid_start_here(env.user)));
    out.push_back(diagnose_userns(probe_userns(), parent::read_userns_sysctls()));

    PathFacts xdg;
    if (env.xdg_runtime_dir && !env.xdg_runtime_dir->empty()) {
        struct stat st {};
        if (::lstat(env.xdg_runtime_dir->c_str(), &st) == 0)
            xdg = {true, S_ISDIR(st.st_mode), st.st_uid, st.st_mode};
    }
    out.push_back(diagnose_xdg_runtime_dir(env.xdg_runtime_dir, xdg, env.user.uid));

    out.push_back(diagnose_device("tun", "/dev/net/tun", probe_open("/dev/net/tun"),
                                  "--net=slirp4netns, pasta, vpnkit and gvisor-tap-vsock",
                                  Severity::Warn));
    KernelFacts k;
    k.release = std::string(util::trim(read_opt("/proc/sys/kernel/osrelease").value_or("0")));
    k.ubuntu = read_opt("/proc/version").value_or("").find("Ubuntu") != std::string::npos;
    k.fuse_overlayfs = sys::find_in_path("fuse-overlayfs").has_value();
    auto kernel = diagnose_kernel(k, env.distro);
    bool needs_fuse = kernel.found.find("fuse-overlayfs") != std::string::npos;
    out.push_back(diagnose_device("fuse", "/dev/fuse", probe_open("/dev/fuse"), "fuse-overlayfs",
                                  needs_fuse ? Severity::Warn : Severity::Info));
    out.push_back(kernel);

    auto slirp = sys::find_in_path("slirp4netns");
    out.push_back(
        diagnose_slirp4netns(slirp, slirp ? helper_version(*slirp) : std::nullopt, env.distro));
    auto pasta = sys::find_in_path("pasta");
    util::Status pasta_usable;
    if (pasta) {
        proto::Options o;
        o.pasta_binary = *pasta;
        if (auto p = net::probe_pasta(o); !p) pasta_usable = util::fail(p.error());
    }
    out.push_back(diagnose_pasta(pasta, pasta ? helper_version(*pasta) : std::nullopt, pasta_usable,
                                 env.distro));

    CgroupFacts cg;
    struct statfs sf {};
    cg.v2 = ::statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == 0x63677270; // CGROUP2_SUPER_MAGIC
    if (cg.v2)
        cg.delegated = read_opt(fmt::format(
            "/sys/fs/cgroup/user.slice/user-{0}.slice/user@{0}.service/cgroup.controllers",
            env.user.uid));
    out.push_back(diagnose_cgroup(cg, env.user.uid));

    std::vector<gid_t> gids(static_cast<size_t>(std::max(::getgroups(0, nullptr), 0)) + 1);
    int n = ::getgroups(static_cast<int>(gids.size() - 1), gids.data());
    gids.resize(n > 0 ? static_cast<size_t>(n) : 0);
    gids.push_back(::getgid());
    out.push_back(diagnose_ping_group_range(read_opt("/proc/sys/net/ipv4/ping_group_range"), gids));
    auto port_start = read_opt("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    std::optional<long> ps;
    if (port_start)
        if (auto v = util::parse_i64(util::trim(*port_start))) ps = static_cast<long>(*v);
    out.push_back(diagnose_unprivileged_port_start(ps));
    out.push_back(diagnose_proc_sys(parent::proc_sys_read_only()));
    out.push_back(diagnose_data_dir(env.data_dir, fs_type_of(env.data_dir)));

    SessionFacts s;
    s.systemctl = sys::find_in_path("systemctl").has_value();
    s.booted = ::access("/run/systemd/system", F_OK) == 0;
    s.cgroup_v2 = cg.v2;
    if (env.xdg_runtime_dir && !env.xdg_runtime_dir->empty()) {
        s.user_manager = ::access((*env.xdg_runtime_dir + "/systemd/private").c_str(), F_OK) == 0;
        s.dbus = ::access((*env.xdg_runtime_dir + "/bus").c_str(), F_OK) == 0;
    }
    const char* bus = std::getenv("DBUS_SESSION_BUS_ADDRESS");
    if (bus && *bus) s.dbus = true;
    out.push_back(diagnose_systemd(s, env.user.name));
    out.push_back(diagnose_dbus(s, env.distro));
    return out;
}

bool rootless_will_work(const std::vector<Finding>& findings) {
    return std::none_of(findings.begin(), findings.end(),
                        [](const Finding& f) { return f.severity == Severity::Fail; });
}

std::string format_text(const std::vector<Finding>& findings) {
    std::string out;
    size_t fails = 0;
    for (const auto& f : findings) {
        std::string tag = fmt::format("[{}]", severity_name(f.severity));
        out += fmt::format("{:<7}{}: {}\n", tag, f.name, f.found);
        if (!f.fix.empty() && f.severity != Severity::Ok)
            out += fmt::format("       fix: {}\n", f.fix);
        if (f.severity == Severity::Fail) ++fails;
    }
    if (fails == 0)
        out += "Rootless mode will work for this user.\n";
    else
        out += fmt::format("Rootless mode will NOT work: fix the {} failed check{} above.\n", fails,
                           fails == 1 ? "" : "s");
    out += "Known errors and their fixes: " + sys::doc_path("troubleshooting.md") + "\n";
    return out;
}

std::string format_json(const std::vector<Finding>& findings, const Distro& distro) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& f : findings)
        checks.push_back({{"name", f.name},
                          {"status", std::string(severity_name(f.severity))},
                          {"found", f.found},
                          {"fix", f.fix}});
    nlohmann::json doc = {
        {"ok", rootless_will_work(findings)}, {"distro", distro.pretty_name}, {"checks", checks}};
    return doc.dump(2) + "\n";
}

} // namespace rk::setuptool
