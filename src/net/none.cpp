// Purpose: --net=none - loopback only.
#include "net/none.hpp"

#include "sys/netlink.hpp"

#include <net/if.h>

namespace rk::net {

util::Status NoneDriver::configure_child(const std::string&) {
    // Bringing lo up makes the kernel add 127.0.0.1/8 and ::1 to it.
    unsigned idx = ::if_nametoindex("lo");
    if (idx == 0) return util::fail(util::sys_error("cannot find the loopback interface"));
    return sys::netlink::link_set_up(static_cast<int>(idx), "lo");
}

} // namespace rk::net
