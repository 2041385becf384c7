// Purpose: user-mode network addressing and the child's interface set-up (see vnet.hpp).
#include "net/vnet.hpp"

#include "sys/netlink.hpp"
#include "util/fd.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

namespace rk::net {
using util::fail;
using util::plain_error;

util::Result<std::string> ipv4_add(const std::string& ip, unsigned n) {
    in_addr a{};
    if (::inet_pton(AF_INET, ip.c_str(), &a) != 1)
        return fail(plain_error("not an IPv4 address: " + ip));
    uint64_t sum = uint64_t{ntohl(a.s_addr)} + n;
    if (sum > 0xffffffffULL) return fail(plain_error(fmt::format("{} + {} overflows", ip, n)));
    a.s_addr = htonl(static_cast<uint32_t>(sum));
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, buf, sizeof buf);
    return std::string(buf);
}

util::Result<VirtualNet> plan_virtual_net(const proto::Options& opts, unsigned default_mtu,
                                          unsigned gateway_offset, unsigned dns_offset) {
    VirtualNet v;
    v.ifname = opts.ifname.empty() ? "tap0" : opts.ifname;
    v.mtu = opts.mtu > 0 ? static_cast<unsigned>(opts.mtu) : default_mtu;
    std::string cidr = opts.cidr.empty() ? "10.0.2.0/24" : opts.cidr; // validated by the CLI
    auto slash = cidr.find('/');
    v.network = cidr.substr(0, slash);
    v.prefix = std::stoi(cidr.substr(slash + 1));
    v.child_ip = RK_TRY(ipv4_add(v.network, 100));
    v.gateway = RK_TRY(ipv4_add(v.network, gateway_offset));
    v.dns.push_back(RK_TRY(ipv4_add(v.network, dns_offset)));
    return v;
}

util::Result<util::Fd> open_tap(const std::string& name) {
    util::Fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd)
        return fail(util::Error{errno, "cannot open /dev/net/tun",
                                "the tun module must be loaded and /dev/net/tun mode 0666 "
                                "(chmod 0666 /dev/net/tun)"});
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name.c_str());
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0)
        return fail(util::sys_error("cannot create the tap device " + name));
    return fd;
}

util::Status create_persistent_tap(const std::string& name) {
    auto fd = RK_TRY(open_tap(name));
    if (::ioctl(fd.get(), TUNSETPERSIST, 1) != 0)
        return fail(util::sys_error("cannot make the tap device " + name + " persistent"));
    return {};
}

util::Status configure_interface(const VirtualNet& plan) {
    RK_TRY(sys::netlink::loopback_up());
    int dev = static_cast<int>(::if_nametoindex(plan.ifname.c_str()));
    if (dev == 0) return fail(util::sys_error("cannot find the interface " + plan.ifname));
    RK_TRY(sys::netlink::link_set_mtu(dev, plan.mtu, plan.ifname));
    RK_TRY(sys::netlink::link_set_up(dev, plan.ifname));
    RK_TRY(sys::netlink::addr_add(dev, plan.child_ip, plan.prefix, plan.ifname));
    return sys::netlink::route_add_default(dev, plan.gateway, plan.ifname);
}

} // namespace rk::net
