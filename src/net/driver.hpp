// Purpose: the network driver interface. One object holds both halves: the parent half runs in
// the host namespaces, the child half inside the new namespaces (the child is a clone of the
// parent, so it has its own copy of the same object).
#pragma once

#include "proto/options.hpp"
#include "util/error.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace rk::net {

// Where the parent half finds the child's network namespace.
struct ChildNetns {
    pid_t pid = -1;        // the child; its user namespace is /proc/<pid>/ns/user
    std::string state_dir; // absolute
    // --detach-netns: the namespace bound on $STATE_DIR/netns in the child's mount namespace,
    // as the parent reaches it (/proc/<pid>/root<state_dir>/netns); "" otherwise, when the
    // child's own network namespace is the one.
    std::string detached;
    bool is_detached() const { return !detached.empty(); }
};

// What /v1/info reports about the network driver.
struct DriverInfo {
    std::string driver;
    std::vector<std::string> dns;
    std::string child_ip;
    bool dynamic_child_ip = false;
    bool ipv6 = false; // the namespace has IPv6 through the driver (--ipv6 took effect)
};

class Driver {
  public:
    virtual ~Driver() = default;
    virtual std::string_view name() const = 0;
    // Whether the child gets a network namespace of its own (CLONE_NEWNET; with
    // --detach-netns it makes one beside it instead, and the target stays in the host's).
    virtual bool new_netns() const = 0;
    // Parent half, after the child's user namespace is ready. Returns the payload handed to
    // configure_child (e.g. addresses learnt from a helper).
    virtual util::Result<std::string> configure_parent(const ChildNetns& ns) = 0;
    // Child half, right after the ID maps are written and before the parent half runs
    // (e.g. devices the parent's helper attaches to). Runs inside the namespace's network
    // namespace (the detached one with --detach-netns), as does configure_child.
    virtual util::Status prepare_child() { return {}; }
    // Child half, inside the namespaces, before the target starts.
    virtual util::Status configure_child(const std::string& payload) = 0;
    // Parent half: stop helpers; called once on the way out.
    virtual void shutdown() {}
    // Whether the namespace gets a network device of its own with a resolver: then the child
    // remounts /sys (so /sys/class/net shows the namespace) and installs resolv.conf and hosts.
    virtual bool virtual_nic() const { return false; }
    // Parent half: an fd (a pidfd) that becomes readable when the driver's helper process
    // dies, or -1 if there is none. The namespace has no network from then on.
    virtual int helper_pidfd() const { return -1; }
    // Parent half: the helper's pid (for checks such as "is it stopped?"), or -1, and its name
    // for messages.
    virtual pid_t helper_pid() const { return -1; }
    virtual std::string helper_name() const { return {}; }
    // Parent half, after configure_parent: the socket on which the helper takes port changes
    // (slirp4netns' --api-socket, rootlesskit-netd's, pasta's -c), "" if it was given none.
    // Port drivers that drive the helper talk to it there.
    virtual std::string control_socket() const { return {}; }
    // Parent half, after helper_pidfd() became readable: reaps the helper and says what
    // happened to it.
    virtual util::Error helper_died() { return util::plain_error("network helper died"); }
    // For /v1/info; nullopt for --net=host (upstream omits the object).
    virtual std::optional<DriverInfo> info() const = 0;
    // The networks (CIDR text) that exist only on the namespace's side of this driver: a
    // user-mode network, whose gateway and DNS are the helper, not the host. The socket bypass
    // never takes a connect to them to the host, where they mean something else or nothing.
    virtual std::vector<std::string> own_networks() const { return {}; }
    // Child half, after configure_child: the nameservers for $STATE_DIR/resolv.conf.
    virtual std::vector<std::string> resolvers() const {
        auto i = info();
        return i ? i->dns : std::vector<std::string>{};
    }
};

// Builds the driver selected by --net.
util::Result<std::unique_ptr<Driver>> make_driver(const proto::Options& opts);

// Every name --net accepts, in help order.
const std::vector<std::string_view>& driver_names();

} // namespace rk::net
