// Purpose: a network helper process (slirp4netns, pasta) run as our child: PDEATHSIG=SIGKILL
// so it never outlives us, stdout+stderr on a pipe, a pidfd for the parent's death watch, and
// a wait for its readiness that turns its death into an error quoting its last output line.
#pragma once

#include "net/driver.hpp"
#include "net/vnet.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace rk::net {

struct SupervisedHelper {
    std::string name; // for messages: "slirp4netns"
    pid_t pid = -1;
    util::Fd pidfd;
    util::Fd output;
};

// The helper program named by --<tool>-binary (`value`): a name is looked up in $PATH, a path
// must be an executable file. The error says which of the two failed and how to fix it: the
// default name not in $PATH -> `install` (e.g. "install it (apt-get install passt)"), a name or
// path the user gave -> what to give instead; `otherwise` (e.g. "or use --net=slirp4netns")
// ends either hint.
util::Result<std::string> find_helper_binary(const std::string& tool, const std::string& value,
                                             const std::string& install,
                                             const std::string& otherwise);

// The last non-empty line of a helper's output, for error messages.
std::string last_output_line(const std::string& output);

// Starts argv (argv[0] a path) with stdin on /dev/null; fds[i] becomes its fd 3 + i (at most 8).
util::Result<SupervisedHelper> start_helper(std::string name, std::vector<std::string> argv,
                                            std::vector<int> fds = {});

// Waits until `ready_fd` is readable and returns what it reads (at most 64 bytes; "" on EOF
// is a failure), failing if the helper dies first (reaped; its last output line quoted) or
// after `timeout` (killed). From then on its output goes to our debug log.
util::Result<std::string> await_ready(SupervisedHelper& h, int ready_fd,
                                      std::chrono::seconds timeout);

// Like await_ready, for helpers without a ready fd: ready once `probe()` returns true (tried
// at once and then every `interval`).
util::Status await_probe(SupervisedHelper& h, const std::function<bool()>& probe,
                         std::chrono::milliseconds interval, std::chrono::seconds timeout);

// SIGKILL and reap, if still running.
void stop_helper(SupervisedHelper& h);

// After its pidfd became readable: reaps it and says what happened.
util::Error helper_death(SupervisedHelper& h);

// What the user-mode network drivers (slirp4netns, pasta) share: a new netns with a virtual
// NIC, the addressing plan, and one supervised helper whose death ends the run.
class UserModeDriver : public Driver {
  public:
    UserModeDriver(const proto::Options& opts, VirtualNet plan)
        : opts_(opts), plan_(std::move(plan)) {}
    ~UserModeDriver() override { stop_helper(proc_); }

    bool new_netns() const override { return true; }
    bool virtual_nic() const override { return true; }
    void shutdown() override { stop_helper(proc_); }
    int helper_pidfd() const override { return proc_.pidfd.get(); }
    pid_t helper_pid() const override { return proc_.pid; }
    std::string helper_name() const override { return proc_.name; }
    std::string control_socket() const override { return control_socket_; }
    util::Error helper_died() override { return helper_death(proc_); }
    std::optional<DriverInfo> info() const override {
        return DriverInfo{std::string(name()), plan_.dns, plan_.child_ip, false, opts_.ipv6};
    }
    // The addressing plan's network; with --ipv6, fd00::/64 (libslirp's, for slirp4netns and
    // the embedded network; pasta and vpnkit override).
    std::vector<std::string> own_networks() const override {
        std::vector<std::string> n{ipv4_network()};
        if (opts_.ipv6) n.push_back("fd00::/64");
        return n;
    }

  protected:
    std::string ipv4_network() const { return plan_.network + "/" + std::to_string(plan_.prefix); }

    const proto::Options& opts_;
    VirtualNet plan_;
    SupervisedHelper proc_;
    std::string control_socket_; // set by configure_parent where the helper gets one
};

} // namespace rk::net
