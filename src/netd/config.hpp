// Purpose: rootlesskit-netd's command line. The process is started by rootlesskit only
// (fd 3: the namespace's tap device, fd 4: readiness pipe), so the format is ours:
//   rootlesskit-netd --mtu N --cidr A.B.C.D/L [--disable-host-loopback] [--ipv6]
//                    [--api-socket PATH] [--without-landlock]
#pragma once

#include "util/error.hpp"

#include <netinet/in.h>
#include <string>
#include <vector>

namespace rk::netd {

struct Config {
    unsigned mtu = 65520;
    in_addr network{}; // 10.0.2.0
    int prefix = 24;
    bool disable_host_loopback = false;
    bool ipv6 = false;      // fd00::/64 by router advertisement, as slirp4netns --enable-ipv6
    std::string api_socket; // --port-driver=gvisor-tap-vsock: slirp4netns-style JSON API
    // The user accepted running without Landlock (ROOTLESSKIT_NETD_WITHOUT_LANDLOCK=1): start
    // with seccomp alone where the kernel lacks it, instead of refusing.
    bool without_landlock = false;
};

util::Result<Config> parse_config(const std::vector<std::string>& args);

} // namespace rk::netd
