// Purpose: host-side sockets of the port drivers (see listener.hpp).
#include "port/listener.hpp"

#include "sys/fs.hpp"
#include "sys/sockaddr.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <optional>
#include <sys/socket.h>

namespace rk::port {
using util::fail;
using util::Fd;
using util::plain_error;

std::string privileged_port_fix(int port, long current) {
    return fmt::format("publish a port >= {0}; or, as root, add "
                       "`net.ipv4.ip_unprivileged_port_start={1}` to "
                       "/etc/sysctl.d/99-rootless.conf and run `sysctl --system` (it is {0} now), "
                       "or `setcap cap_net_bind_service=ep $(command -v rootlesskit)`",
                       current, port);
}

// The port a bound socket got.
util::Result<int> local_port(const Fd& fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return fail(util::sys_error("getsockname"));
    auto e = sys::parse_sockaddr(ss);
    if (!e) return fail(util::plain_error("getsockname: not an IP socket"));
    return e->port;
}

// Upstream's (Go net.Listen) family rules, spec 7.2.
util::Result<Fd> make_listener(const PortSpec& s) {
    bool v6only = false;
    int family;
    std::string ip = s.parent_ip;
    std::string base = s.proto.substr(0, 3);
    char suffix = s.proto.size() == 4 ? s.proto[3] : 0;
    auto no_addr = [&] {
        return fail(plain_error(
            fmt::format("listen {} {}: no suitable address found", s.proto, s.parent_ip)));
    };
    // The parent IP, parsed once; an empty one is the unspecified address of the family chosen.
    std::optional<sys::IpAddress> given;
    if (!ip.empty() && !(given = sys::parse_ip(ip))) return no_addr();
    const bool v4 = given && given->family == AF_INET;
    if (suffix == '4') {
        if (given && !v4) return no_addr();
        family = AF_INET;
        if (ip.empty()) ip = "0.0.0.0";
    } else if (suffix == '6') {
        if (v4) return no_addr();
        family = AF_INET6;
        v6only = true;
        if (ip.empty()) ip = "::";
    } else if (ip.empty() || ip == "0.0.0.0" || ip == "::") {
        family = AF_INET6; // dual-stack
        ip = "::";
        given.reset();
    } else {
        family = v4 ? AF_INET : AF_INET6;
    }
    int type = base == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    Fd fd(::socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return fail(util::sys_error("socket"));
    int one = 1, v6 = v6only ? 1 : 0;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof v6);
    sys::Endpoint at{family, given.value_or(sys::IpAddress{family, {}}),
                     static_cast<uint16_t>(s.parent_port)};
    sockaddr_storage ss;
    socklen_t len = sys::to_sockaddr(at, ss);
    std::string where = family == AF_INET6 ? fmt::format("[{}]:{}", ip, s.parent_port)
                                           : fmt::format("{}:{}", ip, s.parent_port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        auto e = util::sys_error(fmt::format("listen {} {}: bind", s.proto, where));
        // Go's words, lower case: Docker's retry for a clashing ephemeral port looks for
        // "address already in use" in the API's answer (moby #52903).
        if (e.err == EADDRINUSE) {
            e.err = 0;
            e.context += ": address already in use";
        }
        if ((e.err == EACCES || e.err == EPERM) && s.parent_port > 0 && s.parent_port < 1024) {
            auto start = sys::read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start");
            auto cur = start ? util::parse_i64(util::trim(*start)) : std::nullopt;
            e.context =
                fmt::format("cannot expose privileged port {}: ", s.parent_port) + e.context;
            e.hint = privileged_port_fix(s.parent_port, cur ? *cur : 1024);
        }
        return fail(e);
    }
    if (type == SOCK_STREAM && ::listen(fd.get(), SOMAXCONN) != 0)
        return fail(util::sys_error(fmt::format("listen {} {}", s.proto, where)));
    return fd;
}

} // namespace rk::port
