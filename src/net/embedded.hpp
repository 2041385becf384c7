// Purpose: --net=gvisor-tap-vsock, our embedded user-mode network. Upstream embeds gVisor's
// stack in its parent process; we run libslirp (the stack inside slirp4netns and QEMU) in
// rootlesskit-netd, a sandboxed process of ours (src/netd), with upstream's user-visible
// contract: 10.0.2.0/24 by default, gateway and DNS at .1, the child at .100, MTU 65520, the
// host's loopback at the gateway unless --disable-host-loopback. Beyond upstream, --ipv6 gives
// fd00::/64 as slirp4netns does.
// The child creates the tap device and passes its fd to the parent, which hands it to netd.
#pragma once

#include "net/helper.hpp"

namespace rk::net {

// Where rootlesskit-netd is: next to our binary (build tree) or in ../libexec/rootlesskit.
std::optional<std::string> find_netd();

// Whether the user allows netd to run without Landlock where the kernel lacks it:
// ROOTLESSKIT_NETD_WITHOUT_LANDLOCK=1 (or "true"). Off by default: netd then refuses to start.
bool netd_without_landlock_allowed();

struct NetdArgs {
    bool disable_host_loopback = false;
    bool ipv6 = false;
    bool without_landlock = false;
    std::string api_socket; // empty: no port-driver API
};

// netd's command line without argv[0].
std::vector<std::string> netd_argv(const VirtualNet& plan, const NetdArgs& args);

class EmbeddedDriver final : public UserModeDriver {
  public:
    EmbeddedDriver(const proto::Options& opts, VirtualNet plan, std::string netd,
                   util::Fd parent_end, util::Fd child_end)
        : UserModeDriver(opts, std::move(plan)), netd_(std::move(netd)),
          parent_end_(std::move(parent_end)), child_end_(std::move(child_end)) {}

    std::string_view name() const override { return "gvisor-tap-vsock"; }
    util::Result<std::string> configure_parent(const ChildNetns& ns) override;
    util::Status prepare_child() override;
    util::Status configure_child(const std::string& payload) override;

  private:
    std::string netd_;
    util::Fd parent_end_, child_end_; // a socketpair made before the clone: the tap fd's way
};

util::Result<std::unique_ptr<Driver>> make_embedded_driver(const proto::Options& opts);

// The port driver's API socket in the state dir (--port-driver=gvisor-tap-vsock).
std::string netd_api_socket(const std::string& state_dir);

} // namespace rk::net
