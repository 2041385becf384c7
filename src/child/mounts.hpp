// Purpose: mount-namespace set-up done by the child: propagation of /, a fresh /proc for
// --pidns, and tmpfs+symlink copy-up (copyup.cpp).
#pragma once

#include "util/error.hpp"

#include <string>
#include <vector>

namespace rk::child {

util::Status apply_propagation(const std::string& mode);
util::Status mount_proc();
// tmpfs+symlink copy-up of one absolute directory.
util::Status copy_up(const std::string& dir);

// netfiles.cpp, for network drivers with a virtual NIC:
// A new sysfs on /sys (so /sys/class/net shows the namespace), the host's cgroup tree kept on
// /sys/fs/cgroup. Failures only warn, as upstream (e.g. a masked /sys).
void remount_sys();
// Writes $STATE_DIR/resolv.conf (a nameserver line per entry) and $STATE_DIR/hosts (the host's
// plus our hostname) and, unless WriteOnly (--detach-netns), bind-mounts them over
// /etc/resolv.conf and /etc/hosts.
enum class DnsFiles { WriteAndMount, WriteOnly };
util::Status install_dns_files(const std::string& state_dir, const std::vector<std::string>& dns,
                               DnsFiles what, bool etc_copied_up);

} // namespace rk::child
