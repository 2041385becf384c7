// Purpose: `rootless-setuptool nsenter` - run a command inside the namespaces of a running
// rootlesskit instance (user, mount, network, and whichever of uts/ipc/cgroup/pid it made), as
// `nsenter -U --preserve-credentials -n -m -t $(cat child_pid)` would, without exec'ing nsenter.
//
// The instance is found by its state dir: --state-dir, else $ROOTLESSKIT_STATE_DIR, else the
// one state dir of our installed daemons that is in use. It must be alive (its lock is held)
// and its child a process we own: a stale child_pid whose number was reused is refused.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rk::setuptool {

struct NsenterOptions {
    std::optional<std::string> state_dir;
    std::optional<std::string> runtime_dir; // $XDG_RUNTIME_DIR, for the default search
    std::vector<std::string> command;       // empty: $SHELL or /bin/sh
};

// Execs the command (returns only on error, with the exit code; with a PID namespace to join,
// waits for the command and returns its exit code).
int nsenter(const NsenterOptions& o);

} // namespace rk::setuptool
