// Purpose: what the child does for a network driver with a virtual NIC besides configuring
// the device: a fresh /sys for the new network namespace, and resolv.conf/hosts.
#include "child/mounts.hpp"
#include "sys/fs.hpp"
#include "sys/syscalls.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rk::child {
using util::fail;
using util::sys_error;

// Theory of Operation: sysfs shows the network devices of the namespace that mounted it, so
// /sys/class/net would list the host's devices until /sys is mounted anew. The host's cgroup
// tree under /sys/fs/cgroup is cloned first (open_tree: a detached copy, no scratch directory
// in /tmp) and moved back on top of the new sysfs.
void remount_sys() {
    util::Fd cgroup(sys::open_tree(AT_FDCWD, "/sys/fs/cgroup",
                                   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (::mount("sysfs", "/sys", "sysfs", flags, nullptr) != 0 &&
        ::mount("sysfs", "/sys", "sysfs", flags | MS_RDONLY, nullptr) != 0) {
        util::log::warn("cannot mount a new /sys for the network namespace ({}); /sys/class/net "
                        "shows the host's devices",
                        std::strerror(errno));
        return;
    }
    if (cgroup &&
        sys::move_mount(cgroup.get(), "", AT_FDCWD, "/sys/fs/cgroup", MOVE_MOUNT_F_EMPTY_PATH) != 0)
        util::log::warn("cannot put /sys/fs/cgroup back over the new /sys: {}",
                        std::strerror(errno));
}

namespace {

// Makes `path` (inside a copied-up /etc, a symlink into the read-only original) an empty
// regular file that a bind mount can cover without touching the host's file.
util::Status replace_with_empty_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return fail(sys_error("cannot remove " + path));
    util::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) return fail(sys_error("cannot create " + path));
    return {};
}

} // namespace

util::Status install_dns_files(const std::string& state_dir, const std::vector<std::string>& dns,
                               DnsFiles what, bool etc_copied_up) {
    std::string resolv;
    for (const auto& d : dns)
        resolv += "nameserver " + d + "\n";
    std::string hosts;
    if (auto h = sys::read_file("/etc/hosts")) hosts = *h;
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0)
        hosts += std::string("\n127.0.0.1 ") + name + "\n::1 " + name + "\n";
    const std::string sd_resolv = state_dir + "/resolv.conf", sd_hosts = state_dir + "/hosts";
    RK_TRY(sys::write_file(sd_resolv, resolv, 0644));
    RK_TRY(sys::write_file(sd_hosts, hosts, 0644));
    if (what == DnsFiles::WriteOnly) return {};
    if (etc_copied_up) {
        RK_TRY(replace_with_empty_file("/etc/resolv.conf"));
        RK_TRY(replace_with_empty_file("/etc/hosts"));
    } else {
        util::log::warn("mounting /etc/resolv.conf without --copy-up=/etc: if the host replaces "
                        "its /etc/resolv.conf, the namespace keeps the old mount; --copy-up=/etc "
                        "is recommended");
    }
    for (const auto& [src, dst] : {std::pair{sd_resolv, std::string("/etc/resolv.conf")},
                                   std::pair{sd_hosts, std::string("/etc/hosts")}}) {
        if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0)
            return fail(util::Error{errno, "cannot bind-mount " + src + " over " + dst,
                                    "the host's " + dst +
                                        " must exist (a dangling symlink cannot be covered); "
                                        "--copy-up=/etc avoids this"});
    }
    return {};
}

} // namespace rk::child
