// Purpose: `rootless-setuptool check` - every prerequisite of rootless mode and every known
// failure of the seed guides, each checked by its own small unit that reports what it found
// and the exact fix for the running distribution.
//
// Each check is split in two: a gatherer that reads the machine (files under /proc, /sys, /etc,
// a real user-namespace probe, `slirp4netns --version`) and a pure `diagnose_*` function from
// those facts to a Finding. The diagnoses are what the unit tests cover with tables; the bats
// suite runs the whole command on this machine and on deliberately broken set-ups.
#pragma once

#include "parent/preflight.hpp"
#include "parent/subid.hpp"
#include "setuptool/distro.hpp"
#include "util/error.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rk::setuptool {

// Fail: rootless mode will not work until fixed. Warn: it works, but a feature or a common
// set-up (Docker's default network, ping, resource limits) does not. Info: facts worth knowing.
enum class Severity { Ok, Info, Warn, Fail };
std::string_view severity_name(Severity s); // "ok", "info", "warn", "fail"

struct Finding {
    std::string name; // stable id, e.g. "subuid"
    Severity severity = Severity::Ok;
    std::string found; // what the check saw, one line
    std::string fix;   // the command or step that fixes it; empty when nothing to fix
};

// What the checks need to know about the user and the environment they run in.
struct CheckEnv {
    parent::User user;
    std::string home;
    std::optional<std::string> xdg_runtime_dir;
    std::string data_dir; // where daemons keep their data ($XDG_DATA_HOME or ~/.local/share)
    Distro distro;
};

// Runs every check in a fixed order.
std::vector<Finding> run_checks(const CheckEnv& env);
// True when no finding is a Fail.
bool rootless_will_work(const std::vector<Finding>& findings);

// Plain text for a terminal: one "[status] name: found" line per finding, the fix indented
// below it, and a last line with the verdict.
std::string format_text(const std::vector<Finding>& findings);
// {"ok": bool, "distro": "...", "checks": [{"name","status","found","fix"}]}
std::string format_json(const std::vector<Finding>& findings, const Distro& distro);

// --- the pure diagnoses (unit-tested) -------------------------------------------------------

// newuidmap/newgidmap: the lookup's result (paths, or the preflight error with its fix).
Finding diagnose_idmap_tools(const util::Result<std::pair<std::string, std::string>>& tools);

// The user's ranges in /etc/subuid or /etc/subgid (or getsubids), or the error reading them;
// `free_start` is where a new range would not collide with anyone's (for the fix).
Finding diagnose_subids(parent::IdKind kind, const parent::User& user,
                        const util::Result<std::vector<parent::SubidRange>>& ranges,
                        uint64_t free_start);

// Whether a probe could create a user namespace (errno, 0 = yes) and the sysctls that decide.
Finding diagnose_userns(int probe_errno, const parent::UsernsSysctls& s);

struct PathFacts {
    bool exists = false;
    bool is_dir = false;
    uid_t owner = 0;
    mode_t mode = 0;
};
Finding diagnose_xdg_runtime_dir(const std::optional<std::string>& value, const PathFacts& facts,
                                 uid_t uid);

// A device node: the errno of open(O_RDWR) (0 = usable) and what needs it.
Finding diagnose_device(const std::string& name, const std::string& path, int open_errno,
                        const std::string& needed_for, Severity when_missing);

struct Version {
    std::vector<long> parts; // e.g. {1, 2, 0}, or {2023, 6, 25} for passt's dates
    std::string text;        // as printed
};
// "slirp4netns version 1.2.0" -> {1,2,0}; "pasta 2023_12_04.b86afe3" -> {2023,12,4}; nullopt
// when no version is printed ("pasta unknown version").
std::optional<Version> parse_helper_version(std::string_view output);
bool version_at_least(const Version& v, std::initializer_list<long> min);

Finding diagnose_slirp4netns(const std::optional<std::string>& path,
                             const std::optional<Version>& version, const Distro& distro);
// `usable`: what rootlesskit's own start-up probe of this pasta found (net::probe_pasta: the
// flags --net=pasta uses, tried, not a version number: Debian 12's 2023-03-09 prints none and
// works).
Finding diagnose_pasta(const std::optional<std::string>& path,
                       const std::optional<Version>& version, const util::Status& usable,
                       const Distro& distro);

struct KernelFacts {
    std::string release; // /proc/sys/kernel/osrelease
    bool ubuntu = false; // /proc/version names an Ubuntu build
    bool fuse_overlayfs = false;
};
// Which storage driver / snapshotter the kernel allows (seeds: overlayfs >= 5.11 or Ubuntu,
// fuse-overlayfs >= 4.18, else native/vfs).
Finding diagnose_kernel(const KernelFacts& k, const Distro& distro);

struct CgroupFacts {
    bool v2 = false;
    std::optional<std::string> delegated; // cgroup.controllers of the user's systemd service
};
Finding diagnose_cgroup(const CgroupFacts& c, uid_t uid);

// /proc/sys/net/ipv4/ping_group_range ("1\t0" = nobody) against the user's groups.
Finding diagnose_ping_group_range(const std::optional<std::string>& range,
                                  const std::vector<gid_t>& gids);
Finding diagnose_unprivileged_port_start(std::optional<long> start);
// /proc/sys read-only (parent::proc_sys_read_only): daemons need --pidns.
Finding diagnose_proc_sys(bool read_only);

// The data dir's file system type (statfs f_type of its nearest existing ancestor).
Finding diagnose_data_dir(const std::string& dir, std::optional<long> fs_type);

struct SessionFacts {
    bool systemctl = false;    // systemctl in PATH
    bool booted = false;       // systemd is the init system (/run/systemd/system exists)
    bool user_manager = false; // $XDG_RUNTIME_DIR/systemd/private exists
    bool dbus = false;         // $XDG_RUNTIME_DIR/bus exists, or DBUS_SESSION_BUS_ADDRESS set
    bool cgroup_v2 = false;
};
Finding diagnose_systemd(const SessionFacts& s, const std::string& user);
Finding diagnose_dbus(const SessionFacts& s, const Distro& distro);

// Running the checks as root tests the wrong user.
Finding diagnose_running_user(const parent::User& user);

} // namespace rk::setuptool
