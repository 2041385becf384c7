// Purpose: what the parent hands to the child half at clone time (besides the Options and the
// network driver: parent::ChildMain).
#pragma once

#include <linux/filter.h>
#include <string>
#include <sys/types.h>
#include <vector>

namespace rk::proto {

struct Options;

struct ChildStartup {
    int from_parent = -1; // read end of the parent->child pipe
    int to_parent = -1;   // write end of the child->parent pipe
    std::string state_dir;
    uid_t parent_euid = 0;
    gid_t parent_egid = 0;
    int listen_fds = 0;                  // systemd socket activation: fds 3..3+N-1 pass through
    bool activation_rewrite_pid = false; // LISTEN_PID named the parent: rewrite it for the target
    // The child's end of the builtin port driver's dial socketpair; -1 without that driver.
    int dial_fd = -1;
    // --socket-bypass: the child's end of its channel (bypass/channel.hpp), -1 without; and
    // the seccomp filter the parent built (bypass/kernel.hpp), installed in the target.
    int bypass_fd = -1;
    std::vector<sock_filter> bypass_filter;
    // Added to EPERM/EACCES errors of the child's first privileged steps (e.g. the AppArmor
    // profile to install where AppArmor restricts user namespaces); empty if none applies.
    std::string privileged_failure_hint;
};

} // namespace rk::proto
