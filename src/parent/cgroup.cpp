// Purpose: --evacuate-cgroup2 (see cgroup.hpp).
#include "parent/cgroup.hpp"

#include "sys/fs.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <fmt/format.h>
#include <sys/stat.h>

namespace rk::parent {
using util::fail;
using util::plain_error;

namespace {

std::string cgroup2_mountpoint() {
    for (const auto& m : sys::own_mounts())
        if (m.fstype == "cgroup2") return m.mountpoint;
    return {};
}

std::string own_cgroup2_path() {
    auto c = sys::read_file("/proc/self/cgroup");
    if (!c) return {};
    for (auto line : util::split(*c, '\n'))
        if (util::starts_with(line, "0::")) return std::string(util::trim(line.substr(3)));
    return {};
}

} // namespace

util::Status evacuate_cgroup2(const std::string& subgroup) {
    std::string mnt = cgroup2_mountpoint();
    if (mnt.empty())
        return fail(plain_error("--evacuate-cgroup2: no cgroup v2 file system is mounted",
                                "boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1)"));
    std::string group = own_cgroup2_path();
    if (group.empty())
        return fail(plain_error("--evacuate-cgroup2: cannot find our cgroup v2 group in "
                                "/proc/self/cgroup"));
    std::string dir = sys::clean_path(mnt + "/" + group);
    std::string target = dir + "/" + subgroup;
    std::string not_delegated = fmt::format(
        "cgroup v2 group {} is not delegated to this user; start rootlesskit from a delegated "
        "group, e.g. `systemd-run --user -p Delegate=yes -t rootlesskit ...`",
        dir);
    if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) {
        auto e = util::sys_error("--evacuate-cgroup2: cannot create " + target);
        if (e.err == EACCES || e.err == EPERM || e.err == EROFS) e.hint = not_delegated;
        return fail(e);
    }
    auto procs = RK_TRY(sys::read_file(dir + "/cgroup.procs"));
    for (auto pid : util::split(procs, '\n')) {
        if (util::trim(pid).empty()) continue;
        if (auto st = sys::write_existing(target + "/cgroup.procs", pid); !st) {
            if (st.error().err == EACCES || st.error().err == EPERM)
                return fail(util::Error{st.error().err,
                                        "--evacuate-cgroup2: cannot move processes into " + target,
                                        not_delegated});
            util::log::warn("cannot move pid {} into {}: {}", pid, target, st.error().message());
        }
    }
    auto ctrls = sys::read_file(dir + "/cgroup.controllers");
    if (ctrls)
        for (auto c : util::fields(*ctrls))
            if (auto st =
                    sys::write_existing(dir + "/cgroup.subtree_control", "+" + std::string(c));
                !st)
                util::log::warn("cannot enable controller {} in {}: {}", c, dir,
                                st.error().message());
    return {};
}

} // namespace rk::parent
