// Purpose: the rtnetlink requests we make ourselves instead of exec'ing `ip`.
//
// Each request is one RTM_* message with NLM_F_ACK built in a Request (header, family struct,
// then attributes); the kernel answers with an NLMSG_ERROR whose error field is 0 on success
// or -errno.
#include "sys/netlink.hpp"

#include "sys/syscalls.hpp"
#include "util/fd.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

namespace rk::sys::netlink {
using util::fail;
using util::sys_error;

namespace {

// One rtnetlink request: nlmsghdr + the family header `Hdr` + rtattrs, in a fixed buffer
// (our requests are a few dozen bytes).
template <typename Hdr> class Request {
  public:
    Request(uint16_t type, uint16_t flags) {
        std::memset(buf_, 0, sizeof buf_);
        h_.nlmsg_len = NLMSG_LENGTH(sizeof(Hdr));
        h_.nlmsg_type = type;
        h_.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
        h_.nlmsg_seq = 1;
    }
    Hdr& hdr() { return *reinterpret_cast<Hdr*>(NLMSG_DATA(&h_)); }

    void attr(uint16_t type, const void* data, size_t len) {
        auto* a =
            reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&h_) + NLMSG_ALIGN(h_.nlmsg_len));
        a->rta_type = type;
        a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
        std::memcpy(RTA_DATA(a), data, len);
        h_.nlmsg_len = NLMSG_ALIGN(h_.nlmsg_len) + RTA_ALIGN(a->rta_len);
    }
    void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }

    void* data() { return &h_; }
    size_t size() const { return h_.nlmsg_len; }

  private:
    union {
        nlmsghdr h_;
        char buf_[256];
    };
};

enum class Existing { IsError, IsSuccess };

util::Status transact(void* req, size_t len, const std::string& what,
                      Existing existing = Existing::IsError) {
    util::Fd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!sock) return fail(sys_error("cannot open a netlink socket to " + what));
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (retry_eintr([&] {
            return ::sendto(sock.get(), req, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        }) < 0)
        return fail(sys_error("netlink send failed: " + what));
    alignas(nlmsghdr) char buf[4096];
    ssize_t n = retry_eintr([&] { return ::recv(sock.get(), buf, sizeof buf, 0); });
    if (n < 0) return fail(sys_error("netlink receive failed: " + what));
    auto* h = reinterpret_cast<nlmsghdr*>(buf);
    if (!NLMSG_OK(h, static_cast<unsigned>(n)) || h->nlmsg_type != NLMSG_ERROR)
        return fail(util::plain_error("unexpected netlink answer: " + what));
    auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
    if (e->error == -EEXIST && existing == Existing::IsSuccess) return {};
    if (e->error != 0) return fail(sys_error(-e->error, "cannot " + what));
    return {};
}

const char* family_flag(int family) {
    return family == AF_INET6 ? "-6 " : "";
}

} // namespace

util::Status link_set_up(int ifindex, const std::string& name_for_errors) {
    Request<ifinfomsg> req(RTM_NEWLINK, 0);
    req.hdr().ifi_family = AF_UNSPEC;
    req.hdr().ifi_index = ifindex;
    req.hdr().ifi_flags = IFF_UP;
    req.hdr().ifi_change = IFF_UP;
    return transact(req.data(), req.size(), "set link " + name_for_errors + " up");
}

util::Status loopback_up() {
    unsigned idx = ::if_nametoindex("lo");
    if (idx == 0) return fail(sys_error("cannot find the loopback interface"));
    return link_set_up(static_cast<int>(idx), "lo");
}

util::Status link_set_mtu(int ifindex, unsigned mtu, const std::string& name_for_errors) {
    Request<ifinfomsg> req(RTM_NEWLINK, 0);
    req.hdr().ifi_family = AF_UNSPEC;
    req.hdr().ifi_index = ifindex;
    req.attr_u32(IFLA_MTU, mtu);
    return transact(req.data(), req.size(),
                    "set the MTU of " + name_for_errors + " to " + std::to_string(mtu));
}

util::Status link_set_address(int ifindex, const std::array<uint8_t, 6>& mac,
                              const std::string& name_for_errors) {
    Request<ifinfomsg> req(RTM_NEWLINK, 0);
    req.hdr().ifi_family = AF_UNSPEC;
    req.hdr().ifi_index = ifindex;
    req.attr(IFLA_ADDRESS, mac.data(), mac.size());
    return transact(req.data(), req.size(), "set the MAC address of " + name_for_errors);
}

namespace {

// An IPv4 or IPv6 literal as (family, bytes, length); family 0 if neither.
struct Address {
    int family = 0;
    unsigned char bytes[16] = {};
    size_t len = 0;
};

Address parse_address(const std::string& s) {
    Address a;
    if (::inet_pton(AF_INET, s.c_str(), a.bytes) == 1) {
        a.family = AF_INET;
        a.len = 4;
    } else if (::inet_pton(AF_INET6, s.c_str(), a.bytes) == 1) {
        a.family = AF_INET6;
        a.len = 16;
    }
    return a;
}

} // namespace

util::Status addr_add(int ifindex, const std::string& address, int prefix,
                      const std::string& name_for_errors) {
    Address a = parse_address(address);
    if (!a.family) return fail(util::plain_error("not an IP address: " + address));
    Request<ifaddrmsg> req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    req.hdr().ifa_family = static_cast<uint8_t>(a.family);
    req.hdr().ifa_prefixlen = static_cast<uint8_t>(prefix);
    req.hdr().ifa_scope = RT_SCOPE_UNIVERSE;
    req.hdr().ifa_index = static_cast<uint32_t>(ifindex);
    req.attr(IFA_LOCAL, a.bytes, a.len);
    req.attr(IFA_ADDRESS, a.bytes, a.len);
    return transact(req.data(), req.size(),
                    "add address " + address + "/" + std::to_string(prefix) + " to " +
                        name_for_errors);
}

util::Status route_add_default(int ifindex, const std::string& gateway,
                               const std::string& name_for_errors) {
    Address gw = parse_address(gateway);
    if (!gw.family) return fail(util::plain_error("not an IP address: " + gateway));
    Request<rtmsg> req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    rtmsg& r = req.hdr();
    r.rtm_family = static_cast<uint8_t>(gw.family);
    r.rtm_table = RT_TABLE_MAIN;
    r.rtm_protocol = RTPROT_BOOT;
    r.rtm_scope = RT_SCOPE_UNIVERSE;
    r.rtm_type = RTN_UNICAST;
    req.attr(RTA_GATEWAY, gw.bytes, gw.len);
    req.attr_u32(RTA_OIF, static_cast<uint32_t>(ifindex));
    return transact(req.data(), req.size(),
                    "add the default route via " + gateway + " dev " + name_for_errors);
}

util::Status route_add_local_default(int family, int ifindex, uint32_t table) {
    Request<rtmsg> req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    rtmsg& r = req.hdr();
    r.rtm_family = static_cast<uint8_t>(family);
    r.rtm_table = static_cast<uint8_t>(table < 256 ? table : RT_TABLE_UNSPEC);
    r.rtm_protocol = RTPROT_BOOT;
    r.rtm_scope = RT_SCOPE_HOST;
    r.rtm_type = RTN_LOCAL;
    req.attr_u32(RTA_TABLE, table);
    req.attr_u32(RTA_OIF, static_cast<uint32_t>(ifindex));
    return transact(req.data(), req.size(),
                    std::string("add route `ip ") + family_flag(family) +
                        "route add local default dev lo table " + std::to_string(table) + "`",
                    Existing::IsSuccess);
}

util::Status rule_add_fwmark(int family, uint32_t mark, uint32_t table, uint32_t priority) {
    Request<fib_rule_hdr> req(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
    fib_rule_hdr& r = req.hdr();
    r.family = static_cast<uint8_t>(family);
    r.table = static_cast<uint8_t>(table < 256 ? table : RT_TABLE_UNSPEC);
    r.action = FR_ACT_TO_TBL;
    req.attr_u32(FRA_FWMARK, mark);
    req.attr_u32(FRA_TABLE, table);
    req.attr_u32(FRA_PRIORITY, priority);
    return transact(req.data(), req.size(),
                    std::string("add routing rule `ip ") + family_flag(family) +
                        "rule add fwmark " + std::to_string(mark) + " lookup " +
                        std::to_string(table) + "`",
                    Existing::IsSuccess);
}

} // namespace rk::sys::netlink
