// Purpose: defaults of Options that depend on the machine.
#include "proto/options.hpp"

#include <sys/utsname.h>
#include <unistd.h>

namespace rk::proto {

std::string default_lxc_user_nic_binary() {
    utsname u{};
    ::uname(&u);
    const std::string candidates[] = {
        "/usr/libexec/lxc/lxc-user-nic",
        std::string("/usr/lib/") + u.machine + "-linux-gnu/lxc/lxc-user-nic",
        "/usr/lib/lxc/lxc-user-nic",
    };
    for (const auto& c : candidates)
        if (::access(c.c_str(), F_OK) == 0) return c;
    return "";
}

} // namespace rk::proto
