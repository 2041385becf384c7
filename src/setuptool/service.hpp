// Purpose: `rootless-setuptool install|uninstall` - a systemd user unit that runs a daemon
// (dockerd, containerd, buildkitd, or any command) under our rootlesskit with the flags that
// daemon needs, or, without a systemd user session, the command to run instead.
//
// A ServicePlan says what to run; render_unit() and render_command() turn it into a unit file
// or a shell line. Paths below $XDG_RUNTIME_DIR and $HOME stay systemd specifiers (%t, %h) in
// the unit, so it keeps working if those move; the shell line has them expanded.
#pragma once

#include "util/error.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rk::setuptool {

// The first line of every unit we write; uninstall and reinstall only touch files carrying it.
inline constexpr const char* kUnitMarker =
    "# Written by rootless-setuptool (rootlesskit-cpp); `rootless-setuptool uninstall` removes it.";

struct ServicePlan {
    std::string name;        // unit name without ".service": docker, containerd, buildkit, ...
    std::string description; // [Unit] Description=
    std::string documentation;
    std::vector<std::string> rootlesskit_flags;
    // Run inside the namespaces before the daemon, by /bin/sh (empty: exec the daemon directly).
    std::string prelude;
    std::vector<std::string> command;                            // the daemon and its arguments
    std::vector<std::pair<std::string, std::string>> client_env; // DOCKER_HOST=...
    std::string data_dir; // where the daemon keeps data (named by uninstall, never touched)
    bool delegate_cgroup = true;
};

// Where the paths of a plan point. In `{runtime}`, `{data}`, `{config}`, `{home}` placeholders.
struct Paths {
    std::string runtime; // $XDG_RUNTIME_DIR
    std::string home;
    std::string data;   // $XDG_DATA_HOME or ~/.local/share
    std::string config; // $XDG_CONFIG_HOME or ~/.config
};

struct PlanInput {
    std::string daemon;            // dockerd | containerd | buildkitd | "" with exec set
    std::vector<std::string> exec; // --exec: the command line (its argv)
    std::string name;              // --name for --exec (default: the command's base name)
    std::string daemon_path;       // absolute path of the daemon binary
    std::vector<std::string> daemon_args;
    std::vector<std::string> extra_flags; // --rootlesskit-flags, appended after ours
    bool have_slirp4netns = false;        // else the embedded network
};

// The first address dockerd's arguments tell it to listen on (-H, --host), if any.
std::optional<std::string> dockerd_host(const std::vector<std::string>& args);

// The plan for a daemon; an unknown daemon is an error naming the choices.
util::Result<ServicePlan> plan_service(const PlanInput& in);

// The unit file text (starts with kUnitMarker).
std::string render_unit(const ServicePlan& p, const std::string& rootlesskit,
                        const std::string& bin_dir);
// One shell line that runs the same thing in the foreground.
std::string render_command(const ServicePlan& p, const std::string& rootlesskit,
                           const Paths& paths);
// Single-quotes `s` for POSIX sh when it needs it.
std::string sh_quote(const std::string& s);

struct InstallOptions {
    PlanInput plan;
    Paths paths;
    std::string user;
    bool write_unit_only = false; // write the unit even without a systemd session; no systemctl
    bool force = false;           // replace or remove a unit we did not write
};

// Both print what they do as "[INFO] ..." lines on stdout and return the exit code.
int install(const InstallOptions& o);
int uninstall(const InstallOptions& o);

} // namespace rk::setuptool
