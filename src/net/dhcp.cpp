// Purpose: DHCPv4 client messages and exchange (see dhcp.hpp).
#include "net/dhcp.hpp"

#include "sys/syscalls.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <fmt/format.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <thread>

namespace rk::net::dhcp {
using util::fail;
using util::plain_error;

namespace {

constexpr size_t kFixed = 236; // op .. file
constexpr uint8_t kMagic[4] = {99, 130, 83, 99};
constexpr uint16_t kServerPort = 67, kClientPort = 68;

enum Option : uint8_t {
    Pad = 0,
    SubnetMask = 1,
    Router = 3,
    DomainServer = 6,
    RequestedIp = 50,
    LeaseTime = 51,
    Overload = 52,
    MessageType = 53,
    ServerId = 54,
    ParamList = 55,
    End = 255,
};

void put32(std::vector<uint8_t>& v, size_t at, uint32_t host_order) {
    v[at] = static_cast<uint8_t>(host_order >> 24);
    v[at + 1] = static_cast<uint8_t>(host_order >> 16);
    v[at + 2] = static_cast<uint8_t>(host_order >> 8);
    v[at + 3] = static_cast<uint8_t>(host_order);
}

uint32_t get32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// Network-order address <-> the 4 bytes on the wire.
void put_addr(std::vector<uint8_t>& v, uint32_t net_order) {
    const auto* b = reinterpret_cast<const uint8_t*>(&net_order);
    v.insert(v.end(), b, b + 4);
}
uint32_t get_addr(const uint8_t* p) {
    uint32_t a;
    std::memcpy(&a, p, 4);
    return a;
}

std::string dotted(uint32_t net_order) {
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &net_order, buf, sizeof buf);
    return buf;
}

} // namespace

std::vector<uint8_t> build(const ClientMessage& m) {
    // Room for the whole message up front: one allocation, and no growth inside the inserts
    // below (GCC 12 at -O2 misreads the growth of a full vector as a read past its end,
    // -Warray-bounds: a false positive of its inlined reallocation path).
    std::vector<uint8_t> v;
    v.reserve(300); // kFixed (236) + at most 26 bytes of options, padded to 300 below
    v.resize(kFixed, 0);
    v[0] = 1; // BOOTREQUEST
    v[1] = 1; // Ethernet
    v[2] = 6;
    put32(v, 4, m.xid);
    // Replies to a client without an address must be broadcast (flags, bit 15); a renewing
    // client has its address and takes them unicast.
    if (m.ciaddr == 0) v[10] = 0x80;
    std::memcpy(&v[12], &m.ciaddr, 4);
    std::memcpy(&v[28], m.mac.data(), m.mac.size());
    v.insert(v.end(), std::begin(kMagic), std::end(kMagic));
    v.insert(v.end(), {MessageType, 1, static_cast<uint8_t>(m.type)});
    if (m.requested != 0) {
        v.insert(v.end(), {RequestedIp, 4});
        put_addr(v, m.requested);
    }
    if (m.server != 0) {
        v.insert(v.end(), {ServerId, 4});
        put_addr(v, m.server);
    }
    v.insert(v.end(), {ParamList, 4, SubnetMask, Router, DomainServer, LeaseTime});
    v.push_back(End);
    // Some servers ignore requests shorter than a BOOTP packet (300 bytes).
    if (v.size() < 300) v.resize(300, Pad);
    return v;
}

util::Result<Reply> parse(std::span<const uint8_t> p) {
    if (p.size() < kFixed + sizeof kMagic)
        return fail(plain_error(fmt::format("DHCP reply too short ({} bytes)", p.size())));
    if (p[0] != 2) return fail(plain_error("not a BOOTREPLY"));
    if (p[1] != 1 || p[2] != 6) return fail(plain_error("DHCP reply is not for Ethernet"));
    if (std::memcmp(&p[kFixed], kMagic, sizeof kMagic) != 0)
        return fail(plain_error("DHCP reply lacks the magic cookie"));
    Reply r;
    r.xid = get32(&p[4]);
    r.yiaddr = get_addr(&p[16]);
    std::memcpy(r.mac.data(), &p[28], r.mac.size());
    bool have_type = false;
    size_t i = kFixed + sizeof kMagic;
    while (i < p.size()) {
        uint8_t code = p[i++];
        if (code == Pad) continue;
        if (code == End) break;
        if (i >= p.size()) return fail(plain_error("DHCP option without length"));
        size_t len = p[i++];
        if (i + len > p.size())
            return fail(plain_error(fmt::format("DHCP option {} overruns the packet", code)));
        const uint8_t* d = &p[i];
        auto addrs = [&](std::vector<uint32_t>& out) -> util::Status {
            if (len == 0 || len % 4 != 0)
                return fail(plain_error(fmt::format("DHCP option {} has length {}", code, len)));
            for (size_t k = 0; k < len; k += 4)
                out.push_back(get_addr(d + k));
            return {};
        };
        auto one = [&](uint32_t& out, bool addr) -> util::Status {
            if (len != 4)
                return fail(plain_error(fmt::format("DHCP option {} has length {}", code, len)));
            out = addr ? get_addr(d) : get32(d);
            return {};
        };
        switch (code) {
        case MessageType:
            if (len != 1) return fail(plain_error("DHCP message type of bad length"));
            if (d[0] < 1 || d[0] > 7)
                return fail(plain_error(fmt::format("unknown DHCP message type {}", d[0])));
            r.type = static_cast<MsgType>(d[0]);
            have_type = true;
            break;
        case SubnetMask:
            RK_TRY(one(r.subnet_mask, true));
            break;
        case ServerId:
            RK_TRY(one(r.server, true));
            break;
        case LeaseTime:
            RK_TRY(one(r.lease_seconds, false));
            break;
        case Router:
            RK_TRY(addrs(r.routers));
            break;
        case DomainServer:
            RK_TRY(addrs(r.dns));
            break;
        default:
            break; // Overload (52) and the rest: not needed
        }
        i += len;
    }
    if (!have_type) return fail(plain_error("DHCP reply without a message type"));
    return r;
}

util::Result<Lease> lease_from_ack(const Reply& a) {
    if (a.type != MsgType::Ack) return fail(plain_error("not a DHCPACK"));
    if (a.yiaddr == 0) return fail(plain_error("the DHCPACK assigns no address"));
    if (a.routers.empty()) return fail(plain_error("the DHCPACK names no router"));
    if (a.dns.empty()) return fail(plain_error("the DHCPACK names no DNS server"));
    uint32_t mask = ntohl(a.subnet_mask);
    if (a.subnet_mask == 0) return fail(plain_error("the DHCPACK has no subnet mask"));
    // A contiguous mask: ones then zeros.
    if ((~mask & (~mask + 1)) != 0)
        return fail(plain_error("the DHCPACK's subnet mask " + dotted(a.subnet_mask) +
                                " is not contiguous"));
    Lease l;
    l.address = dotted(a.yiaddr);
    l.prefix = __builtin_popcount(mask);
    l.router = dotted(a.routers.front());
    for (auto d : a.dns)
        l.dns.push_back(dotted(d));
    l.duration = std::chrono::seconds(a.lease_seconds ? a.lease_seconds : 3600);
    l.server = a.server ? dotted(a.server) : std::string();
    return l;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Client {
    util::Fd sock;
    Mac mac{};
    std::string ifname;
};

util::Result<Client> open_client(const std::string& ifname) {
    Client c;
    c.ifname = ifname;
    c.sock.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!c.sock) return fail(util::sys_error("socket"));
    int on = 1;
    ::setsockopt(c.sock.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::setsockopt(c.sock.get(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0)
        return fail(util::sys_error("SO_BROADCAST"));
    if (::setsockopt(c.sock.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                     static_cast<socklen_t>(ifname.size())) != 0)
        return fail(util::sys_error("cannot bind the DHCP socket to " + ifname));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(kClientPort);
    if (::bind(c.sock.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        return fail(util::sys_error("cannot bind the DHCP client port 68"));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
    if (::ioctl(c.sock.get(), SIOCGIFHWADDR, &ifr) != 0)
        return fail(util::sys_error("cannot read the MAC address of " + ifname));
    std::memcpy(c.mac.data(), ifr.ifr_hwaddr.sa_data, c.mac.size());
    return c;
}

util::Status send_to(const Client& c, const ClientMessage& m, uint32_t dst) {
    auto pkt = build(m);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(kServerPort);
    sa.sin_addr.s_addr = dst;
    if (sys::retry_eintr([&] {
            return ::sendto(c.sock.get(), pkt.data(), pkt.size(), 0,
                            reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        }) < 0)
        return fail(util::sys_error("cannot send a DHCP request on " + c.ifname));
    return {};
}

// A device just set up has no carrier (and a qdisc that drops everything) until the kernel's
// link watcher gets to it, up to a second later: wait for IFF_RUNNING, so that the first
// DISCOVER is not lost.
void await_carrier(const Client& c, Clock::time_point deadline) {
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", c.ifname.c_str());
    while (Clock::now() < deadline) {
        if (::ioctl(c.sock.get(), SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags & IFF_RUNNING)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

// Sends `m` and waits for a reply to it whose type is in `want`, resending with growing
// intervals (1, 2, 4, ... 16 s) until `deadline`.
util::Result<Reply> exchange(const Client& c, const ClientMessage& m, uint32_t dst,
                             std::initializer_list<MsgType> want, Clock::time_point deadline,
                             const char* what) {
    auto interval = std::chrono::seconds(1);
    for (;;) {
        RK_TRY(send_to(c, m, dst));
        auto resend_at = std::min(Clock::now() + interval, deadline);
        interval = std::min(interval * 2, std::chrono::seconds(16));
        for (;;) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(resend_at - Clock::now());
            if (left.count() <= 0) break;
            pollfd pf{c.sock.get(), POLLIN, 0};
            int n =
                sys::retry_eintr([&] { return ::poll(&pf, 1, static_cast<int>(left.count())); });
            if (n < 0) return fail(util::sys_error("poll"));
            if (n == 0) break;
            uint8_t buf[1500];
            ssize_t got =
                sys::retry_eintr([&] { return ::recv(c.sock.get(), buf, sizeof buf, 0); });
            if (got < 0) return fail(util::sys_error("cannot receive DHCP replies"));
            auto r = parse(std::span<const uint8_t>(buf, static_cast<size_t>(got)));
            if (!r) {
                util::log::debug("dhcp: ignoring a reply: {}", r.error().message());
                continue;
            }
            if (r->xid != m.xid || r->mac != c.mac) continue; // someone else's
            for (auto t : want)
                if (r->type == t) return *r;
        }
        if (Clock::now() >= deadline)
            return fail(plain_error(fmt::format("no DHCP {} on {}", what, c.ifname),
                                    "check that the bridge has a DHCP server (e.g. lxc-net's "
                                    "dnsmasq) with free addresses"));
    }
}

uint32_t random_xid() {
    std::random_device rd;
    return rd();
}

uint32_t addr_of(const std::string& dotted_addr) {
    in_addr a{};
    ::inet_pton(AF_INET, dotted_addr.c_str(), &a);
    return a.s_addr;
}

} // namespace

util::Result<Lease> acquire(const std::string& ifname, std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    auto c = RK_TRY(open_client(ifname));
    await_carrier(c, std::min(deadline, Clock::now() + std::chrono::seconds(5)));
    ClientMessage m{MsgType::Discover, random_xid(), c.mac, 0, 0, 0};
    auto offer = RK_TRY(exchange(c, m, INADDR_BROADCAST, {MsgType::Offer}, deadline, "offer"));
    if (offer.yiaddr == 0 || offer.server == 0)
        return fail(plain_error("the DHCP offer on " + ifname + " lacks an address or server id"));
    m.type = MsgType::Request;
    m.requested = offer.yiaddr;
    m.server = offer.server;
    auto ack = RK_TRY(exchange(c, m, INADDR_BROADCAST, {MsgType::Ack, MsgType::Nak}, deadline,
                               "acknowledgement"));
    if (ack.type == MsgType::Nak)
        return fail(
            plain_error("the DHCP server refused the offered address " + dotted(offer.yiaddr)));
    return lease_from_ack(ack);
}

util::Result<Lease> renew(const std::string& ifname, const Lease& lease,
                          std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    auto c = RK_TRY(open_client(ifname));
    ClientMessage m{MsgType::Request, random_xid(), c.mac, addr_of(lease.address), 0, 0};
    uint32_t dst = lease.server.empty() ? INADDR_BROADCAST : addr_of(lease.server);
    auto ack = RK_TRY(exchange(c, m, dst, {MsgType::Ack, MsgType::Nak}, deadline, "renewal"));
    if (ack.type == MsgType::Nak)
        return fail(plain_error("the DHCP server refused to renew " + lease.address));
    return lease_from_ack(ack);
}

} // namespace rk::net::dhcp
