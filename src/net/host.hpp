// Purpose: --net=host - the target shares the host's network namespace; nothing to do.
#pragma once

#include "net/driver.hpp"

namespace rk::net {

class HostDriver final : public Driver {
  public:
    std::string_view name() const override { return "host"; }
    bool new_netns() const override { return false; }
    util::Result<std::string> configure_parent(const ChildNetns&) override { return std::string(); }
    util::Status configure_child(const std::string&) override { return {}; }
    std::optional<DriverInfo> info() const override { return std::nullopt; }
};

} // namespace rk::net
