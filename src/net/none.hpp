// Purpose: --net=none - a network namespace of its own with only loopback, brought up over
// netlink by the child itself (it has CAP_NET_ADMIN there; no `ip`, no `nsenter`).
#pragma once

#include "net/driver.hpp"

namespace rk::net {

class NoneDriver final : public Driver {
  public:
    std::string_view name() const override { return "none"; }
    bool new_netns() const override { return true; }
    util::Result<std::string> configure_parent(const ChildNetns&) override { return std::string(); }
    util::Status configure_child(const std::string& payload) override;
    std::optional<DriverInfo> info() const override { return DriverInfo{"none", {}, {}, false}; }
};

} // namespace rk::net
