// Purpose: --net=none - loopback only.
#include "net/none.hpp"

#include "sys/netlink.hpp"

namespace rk::net {

util::Status NoneDriver::configure_child(const std::string&) {
    return sys::netlink::loopback_up();
}

} // namespace rk::net
