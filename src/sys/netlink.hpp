// Purpose: the rtnetlink requests we make ourselves instead of exec'ing `ip`.
#pragma once

#include "util/error.hpp"

#include <string>

namespace rk::sys::netlink {

// Sets IFF_UP on the interface with this index in the caller's network namespace.
util::Status link_set_up(int ifindex, const std::string& name_for_errors);

} // namespace rk::sys::netlink
