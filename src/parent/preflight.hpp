// Purpose: checks made before any namespace exists, so that a broken set-up fails with one line
// that names the cause and the fix, and leaves nothing behind.
#pragma once

#include "parent/subid.hpp"
#include "proto/options.hpp"
#include "util/error.hpp"

#include <optional>

namespace rk::parent {

util::Result<User> current_user();

// newuidmap and newgidmap: in PATH, and setuid root or carrying file capabilities.
util::Result<std::pair<std::string, std::string>> find_idmap_tools();

// The sysctls that decide whether an unprivileged user may create user namespaces.
struct UsernsSysctls {
    std::optional<long> max_user_namespaces;            // /proc/sys/user/max_user_namespaces
    std::optional<long> unprivileged_userns_clone;      // Debian/Arch kernels only
    std::optional<long> apparmor_restrict_unprivileged; // Ubuntu 23.10+
};
UsernsSysctls read_userns_sysctls();

// Why creating the namespaces failed with `err`, and how to fix it.
util::Error diagnose_userns_failure(int err, const UsernsSysctls& s);
// Extra hint for EPERM/EACCES on a privileged operation inside the namespace.
std::string apparmor_hint(const UsernsSysctls& s);

// Warnings upstream prints at start: sysctls, propagation without a shared /; and ours: a
// read-only /proc/sys (proc_sys_read_only) with a network namespace and no --pidns.
void warn_environment(const proto::Options& opts, const UsernsSysctls& s);

// /proc/sys is mounted read-only here (systemd-nspawn without a private network, many container
// runtimes): a network namespace made under it keeps that /proc, so a daemon inside cannot set
// its own sysctls (dockerd: "Enabling IP forwarding failed") unless --pidns mounts a /proc of
// the namespace's own - which the kernel refuses in a user namespace where read-only or masked
// parts of the container's /proc would be uncovered (mount_too_revealing).
bool proc_sys_read_only();
// The fix for it, for rootlesskit, Docker's script and rootless-setuptool alike.
extern const char* const kProcSysReadOnlyFix;

// The kernel features every run needs, tried before anything is made: open_tree (Linux 5.2:
// copy-up and the network files are detached mount clones) and pidfd_open (5.3: helpers are
// watched by pidfd). One line names the missing one and the kernel that has it. (The socket
// bypass probes its own, bypass/kernel.hpp; rootlesskit-netd its Landlock.)
util::Status check_kernel_features();

// Whether "/" is a shared mount in our mount namespace (from /proc/self/mountinfo).
bool root_is_shared();

} // namespace rk::parent
