// Purpose: --net=vpnkit (see vpnkit.hpp).
//
// Theory of Operation
//   configure_parent: start `vpnkit --ethernet $SD/vpnkit-ethernet.sock --mtu M` supervised
//   (helper.hpp), connect once the socket appears (10 s), exchange hellos, ask for an
//   interface under a fresh UUID (vpnkit answers with its MTU and our MAC), then DHCP over the
//   link: DISCOVER/REQUEST as broadcast Ethernet frames, the ACK's address is the child's.
//   The connection is closed; the child reconnects under the same UUID.
//   configure_child: tap device with that MAC, connect and handshake, two threads copying
//   frames (tap -> socket with a length prefix, socket -> tap), then the usual netlink set-up
//   with gateway and DNS at 192.168.65.1 (vpnkit's fixed addresses).
#include "net/vpnkit.hpp"

#include "net/vnet.hpp"
#include "sys/fdpass.hpp"
#include "sys/fs.hpp"
#include "sys/netlink.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/thread.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <random>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace rk::net {
using util::fail;
using util::plain_error;

namespace {

constexpr const char* kGateway = "192.168.65.1";
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kDhcpTimeout = std::chrono::seconds(10);

util::Status write_all(int fd, std::span<const uint8_t> b) {
    size_t off = 0;
    while (off < b.size()) {
        ssize_t n = sys::retry_eintr(
            [&] { return ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL); });
        if (n < 0) return fail(util::sys_error("write to vpnkit"));
        off += static_cast<size_t>(n);
    }
    return {};
}

// Reads exactly b.size() bytes; with a deadline when `timeout_ms` >= 0.
util::Status read_exact(int fd, std::span<uint8_t> b, int timeout_ms = -1) {
    size_t off = 0;
    while (off < b.size()) {
        if (timeout_ms >= 0) {
            pollfd pf{fd, POLLIN, 0};
            int r = sys::retry_eintr([&] { return ::poll(&pf, 1, timeout_ms); });
            if (r == 0) return fail(plain_error("vpnkit did not answer in time"));
        }
        ssize_t n = sys::retry_eintr([&] { return ::read(fd, b.data() + off, b.size() - off); });
        if (n < 0) return fail(util::sys_error("read from vpnkit"));
        if (n == 0) return fail(util::Error{EPIPE, "vpnkit closed the connection", ""});
        off += static_cast<size_t>(n);
    }
    return {};
}

// Hellos, then the interface for `uuid`.
util::Result<vmnet::Interface> handshake(int fd, const std::string& uuid) {
    RK_TRY(write_all(fd, vmnet::hello()));
    std::vector<uint8_t> peer(vmnet::kHelloSize);
    RK_TRY(read_exact(fd, peer, 10000));
    auto version = RK_TRY(vmnet::parse_hello(peer));
    util::log::debug("vpnkit: protocol version {}", version);
    RK_TRY(write_all(fd, vmnet::interface_request(uuid)));
    std::vector<uint8_t> resp(vmnet::kResponseSize);
    RK_TRY(read_exact(fd, resp, 10000));
    return vmnet::parse_interface_response(resp);
}

// DHCP over the vmnet link (frames in both directions with a length prefix).
util::Result<dhcp::Lease> dhcp_over_link(int fd, const dhcp::Mac& mac) {
    using Clock = std::chrono::steady_clock;
    auto deadline = Clock::now() + kDhcpTimeout;
    std::random_device rd;
    dhcp::ClientMessage m{dhcp::MsgType::Discover, rd(), mac, 0, 0, 0};
    auto await = [&](std::initializer_list<dhcp::MsgType> want) -> util::Result<dhcp::Reply> {
        RK_TRY(write_all(fd, vmnet::encode_frame(vmnet::dhcp_frame(m))));
        std::vector<uint8_t> frame;
        for (;;) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return fail(plain_error("no DHCP answer from vpnkit"));
            uint8_t len[2];
            RK_TRY(read_exact(fd, len, static_cast<int>(left.count())));
            frame.resize(size_t{len[0]} | size_t{len[1]} << 8);
            RK_TRY(read_exact(fd, frame, static_cast<int>(left.count())));
            auto r = vmnet::parse_dhcp_frame(frame);
            if (!r || r->xid != m.xid || r->mac != mac) continue; // other traffic
            for (auto t : want)
                if (r->type == t) return *r;
        }
    };
    auto offer = RK_TRY(await({dhcp::MsgType::Offer}));
    m.type = dhcp::MsgType::Request;
    m.requested = offer.yiaddr;
    m.server = offer.server;
    auto ack = RK_TRY(await({dhcp::MsgType::Ack, dhcp::MsgType::Nak}));
    if (ack.type == dhcp::MsgType::Nak) return fail(plain_error("vpnkit's DHCP refused us"));
    return dhcp::lease_from_ack(ack);
}

// Copies frames from the tap to vpnkit and back until either side ends.
util::Status pump(int tap, int sock) {
    RK_TRY(util::start_detached("the vpnkit link", [tap, sock] {
        std::vector<uint8_t> buf(vmnet::kMaxFrame);
        for (;;) {
            ssize_t n = sys::retry_eintr([&] { return ::read(tap, buf.data(), buf.size()); });
            if (n <= 0) break;
            uint8_t len[2] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8)};
            iovec iov[2] = {{len, 2}, {buf.data(), static_cast<size_t>(n)}};
            msghdr mh{};
            mh.msg_iov = iov;
            mh.msg_iovlen = 2;
            // Small frames go in one sendmsg; a short write is finished by hand.
            ssize_t w = sys::retry_eintr([&] { return ::sendmsg(sock, &mh, MSG_NOSIGNAL); });
            if (w < 0) break;
            size_t sent = static_cast<size_t>(w), total = 2 + static_cast<size_t>(n);
            if (sent < total) {
                // A short write: finish the frame by hand.
                std::vector<uint8_t> rest(total - sent);
                for (size_t i = sent; i < total; ++i)
                    rest[i - sent] = i < 2 ? len[i] : buf[i - 2];
                if (!write_all(sock, rest)) break;
            }
        }
        util::log::debug("vpnkit: tap -> socket copy ended");
    }));
    return util::start_detached("the vpnkit link", [tap, sock] {
        std::vector<uint8_t> frame;
        for (;;) {
            uint8_t len[2];
            if (!read_exact(sock, len)) break;
            frame.resize(size_t{len[0]} | size_t{len[1]} << 8);
            if (!read_exact(sock, frame)) break;
            if (sys::retry_eintr([&] { return ::write(tap, frame.data(), frame.size()); }) < 0 &&
                errno != EINVAL)
                break;
        }
        util::log::warn("vpnkit closed the link; the namespace has no network any more");
    });
}

} // namespace

std::vector<std::string> vpnkit_argv(const std::string& socket, unsigned mtu,
                                     bool disable_host_loopback) {
    std::vector<std::string> v{"--ethernet", socket, "--mtu", std::to_string(mtu)};
    if (disable_host_loopback) v.insert(v.end(), {"--host-ip", "0.0.0.0"});
    return v;
}

std::string VpnkitLink::encode() const {
    return fmt::format("{}\n{}\n{:02x}\n{}\n", socket, uuid, fmt::join(mac, ":"), child_ip);
}

util::Result<VpnkitLink> VpnkitLink::decode(const std::string& s) {
    auto f = util::split(s, '\n');
    if (f.size() < 4) return fail(plain_error("bad vpnkit link description"));
    VpnkitLink l{std::string(f[0]), std::string(f[1]), {}, std::string(f[3])};
    unsigned b[6];
    if (std::sscanf(std::string(f[2]).c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
                    &b[4], &b[5]) != 6)
        return fail(plain_error("bad MAC in the vpnkit link description"));
    for (int i = 0; i < 6; ++i)
        l.mac[static_cast<size_t>(i)] = static_cast<uint8_t>(b[i]);
    return l;
}

util::Result<std::unique_ptr<Driver>> make_vpnkit_driver(const proto::Options& opts) {
    if (opts.mtu > 0 && opts.mtu != 1500)
        util::log::warn("vpnkit is known to work only with MTU 1500 (got {}; 16425 and above "
                        "break)",
                        opts.mtu);
    auto path = RK_TRY(
        find_helper_binary("vpnkit", opts.vpnkit_binary,
                           "vpnkit is not packaged by Debian: build it from github.com/moby/vpnkit",
                           "or use --net=slirp4netns or --net=pasta"));
    VirtualNet plan;
    plan.ifname = opts.ifname.empty() ? "tap0" : opts.ifname;
    plan.mtu = opts.mtu > 0 ? static_cast<unsigned>(opts.mtu) : 1500;
    plan.network = "192.168.65.0";
    plan.prefix = 24;
    plan.gateway = kGateway;
    plan.dns = {kGateway};
    return std::unique_ptr<Driver>(new VpnkitDriver(opts, std::move(plan), path));
}

util::Result<std::string> VpnkitDriver::configure_parent(const ChildNetns& ns) {
    VpnkitLink link{ns.state_dir + "/vpnkit-ethernet.sock", vmnet::random_uuid(), {}, {}};
    std::vector<std::string> argv{binary_};
    for (auto& a : vpnkit_argv(link.socket, plan_.mtu, opts_.disable_host_loopback))
        argv.push_back(std::move(a));
    proc_ = RK_TRY(start_helper("vpnkit", std::move(argv)));
    util::Fd conn;
    RK_TRY(await_probe(
        proc_,
        [&] {
            auto c = sys::connect_unix(link.socket);
            if (c) conn = std::move(*c);
            return c.has_value();
        },
        std::chrono::milliseconds(20), kConnectTimeout));
    auto vif = RK_TRY_CTX(handshake(conn.get(), link.uuid), "vpnkit handshake");
    link.mac = vif.mac;
    auto lease = RK_TRY_CTX(dhcp_over_link(conn.get(), vif.mac), "vpnkit");
    link.child_ip = lease.address;
    plan_.child_ip = lease.address;
    util::log::debug("vpnkit: interface {} mtu {}, address {}", link.uuid, vif.mtu, lease.address);
    return link.encode();
}

util::Status VpnkitDriver::configure_child(const std::string& payload) {
    auto link = RK_TRY(VpnkitLink::decode(payload));
    plan_.child_ip = link.child_ip;
    util::Fd tap(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!tap) return fail(util::sys_error("cannot open /dev/net/tun"));
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", plan_.ifname.c_str());
    if (::ioctl(tap.get(), TUNSETIFF, &ifr) != 0)
        return fail(util::sys_error("cannot create the tap device " + plan_.ifname));
    int dev = static_cast<int>(::if_nametoindex(plan_.ifname.c_str()));
    RK_TRY(sys::netlink::link_set_address(dev, link.mac, plan_.ifname));
    auto sock = RK_TRY(sys::connect_unix(link.socket));
    RK_TRY_CTX(handshake(sock.get(), link.uuid), "vpnkit handshake (child)");
    RK_TRY(pump(tap.release(), sock.release())); // both live as long as the child
    return configure_interface(plan_);
}

} // namespace rk::net
