// Purpose: the builtin port driver's dial protocol (see dial.hpp).
#include "port/builtin/dial.hpp"

#include "sys/fdpass.hpp"
#include "sys/fs.hpp"
#include "sys/netlink.hpp"
#include "sys/sockaddr.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <linux/in6.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace rk::port::builtin {

util::Result<DialRequest> make_request(uint32_t seq, int type, const std::string& ip, int port) {
    DialRequest r;
    r.seq = seq;
    r.type = static_cast<uint8_t>(type);
    r.port = static_cast<uint16_t>(port);
    if (::inet_pton(AF_INET, ip.c_str(), r.addr) == 1)
        r.family = AF_INET;
    else if (::inet_pton(AF_INET6, ip.c_str(), r.addr) == 1)
        r.family = AF_INET6;
    else
        return util::fail(util::plain_error("not an IP address: " + ip));
    return r;
}

DialRequest make_sockets_request(uint32_t seq, int family, int count) {
    DialRequest r;
    r.seq = seq;
    r.op = DialOp::Sockets;
    r.family = static_cast<uint8_t>(family);
    r.type = SOCK_STREAM;
    r.count = static_cast<uint8_t>(std::clamp(count, 1, kMaxSocketsPerReply));
    return r;
}

bool is_loopback(const sockaddr_storage& a) {
    auto e = sys::parse_sockaddr(a);
    return e && sys::is_loopback(e->addr);
}

// A namespace socket's peer is inside the namespace, a loopback client's on the host: both
// talk over lo, veth or a bridge and never cross a real network. A pacing congestion control
// inherited from the host's default (bbr) only slows them down - it paces segments with timers
// on a link that has no bottleneck: measured on a bbr host, a splice forwarder's loopback
// throughput was 9-13 Gbps with bbr on its outgoing socket and 17-24 Gbps with cubic or reno.
// So they use cubic (Linux's default; allowed to root in the namespace) or else reno (always
// built in and allowed to anyone); if neither is available, the default stays. The first name
// that worked is tried first from then on (one setsockopt per socket).
void use_local_congestion_control(int fd) {
    static constexpr const char* kNames[] = {"cubic", "reno"};
    static std::atomic<size_t> first{0}; // the parent and the child each learn their own
    for (size_t i = first.load(std::memory_order_relaxed); i < std::size(kNames); ++i) {
        if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, kNames[i], std::strlen(kNames[i])) == 0) {
            first.store(i, std::memory_order_relaxed);
            return;
        }
    }
}

bool set_source(DialRequest& r, const sockaddr_storage& client) {
    auto e = sys::parse_sockaddr(client);
    if (!e || sys::is_loopback(e->addr)) return false;
    r.src_family = e->addr.family; // an IPv4-mapped client is dialled from its IPv4 address
    std::memcpy(r.src_addr, e->addr.bytes.data(), e->addr.size());
    r.src_port = e->port;
    return true;
}

namespace {

socklen_t to_sockaddr(int family, const uint8_t* addr, uint16_t port, sockaddr_storage& ss) {
    return sys::to_sockaddr(sys::endpoint(family, addr, port), ss);
}

// Theory of Operation (source-IP transparency, spec 7.3.4): the child connects to the server
// from the client's own address and port (IP_TRANSPARENT allows binding an address the
// namespace does not have) and marks its socket with kMark. The SYN travels over lo with the
// mark; with net.ipv4.tcp_fwmark_accept=1 the server's accepted socket inherits it, and the
// rule "fwmark kMark lookup kTable", whose table routes everything locally, brings the
// server's replies back to our socket instead of to a network the namespace cannot reach.
// Only marked sockets are affected. Upstream marks with iptables CONNMARK rules; the socket
// mark makes netfilter (and an iptables binary) unnecessary. Mark, table and rule priority are
// upstream's, so `ip rule` inside looks familiar.
constexpr uint32_t kMark = 100;
constexpr uint32_t kTable = 100;
constexpr uint32_t kRulePriority = 100;

util::Status setup_source_routing(int family) {
    if (family == AF_INET)
        RK_TRY(sys::write_existing("/proc/sys/net/ipv4/tcp_fwmark_accept", "1\n"));
    RK_TRY(sys::netlink::route_add_local_default(family, static_cast<int>(if_nametoindex("lo")),
                                                 kTable));
    return sys::netlink::rule_add_fwmark(family, kMark, kTable, kRulePriority);
}

} // namespace

SourceRouting prepare_source_routing() {
    SourceRouting r;
    for (int family : {AF_INET, AF_INET6}) {
        auto s = setup_source_routing(family);
        (family == AF_INET ? r.v4 : r.v6) = s.has_value();
        if (!s) {
            // IPv4 is what nearly every client uses: say so at once. An IPv6 failure (a
            // kernel without IPv6) is mentioned when an IPv6 client comes.
            auto msg = fmt::format("source IP transparency is off for {}: {}; servers inside see "
                                   "the loopback address as the client's",
                                   family == AF_INET ? "IPv4" : "IPv6", s.error().message());
            if (family == AF_INET)
                util::log::warn("{}", msg);
            else
                util::log::debug("{}", msg);
        }
    }
    return r;
}

namespace {

enum class From { Namespace, Client };

// Starts a non-blocking connect inside our network namespace, from the client's address when
// `from` says so; returns the socket or -errno.
int start_connect(const DialRequest& r, From from, bool& in_progress) {
    util::Fd fd(::socket(r.family, r.type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return -errno;
    if (r.type == SOCK_STREAM) use_local_congestion_control(fd.get());
    sockaddr_storage ss{};
    if (from == From::Client) {
        int one = 1;
        uint32_t mark = kMark;
        bool v4 = r.family == AF_INET;
        socklen_t len = to_sockaddr(r.src_family, r.src_addr, r.src_port, ss);
        if (::setsockopt(fd.get(), v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TRANSPARENT : IPV6_TRANSPARENT,
                         &one, sizeof one) != 0 ||
            ::setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0 ||
            ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            ::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
            return -errno;
    }
    socklen_t len = to_sockaddr(r.family, r.addr, r.port, ss);
    in_progress = false;
    if (sys::retry_eintr(
            [&] { return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len); }) != 0) {
        if (errno != EINPROGRESS) return -errno;
        in_progress = true;
    }
    return fd.release();
}

static_assert(kMaxSocketsPerReply <= sys::kMaxPassedFds);

// Sends `rep` with `n` fds (at most kMaxSocketsPerReply).
void send_reply(int sock, const DialReply& rep, const int* fds, size_t n) {
    // The channel is blocking on this side: a full buffer just waits for the parent.
    if (sys::send_with_fds_raw(sock, &rep, sizeof rep, {fds, n}) == 0) return;
    int err = errno;
    if (err == EPIPE || n == 0) return; // the parent is gone, or it times the request out
    // The fds could not be passed (ENOBUFS, ETOOMANYREFS, ...): say so without them, so the
    // parent fails the request now instead of at its deadline.
    util::log::debug("dial reply {} with {} fd(s) not sent: {}", rep.seq, n, std::strerror(err));
    DialReply failed{rep.seq, err};
    sys::send_with_fds_raw(sock, &failed, sizeof failed, {});
}
void send_reply(int sock, const DialReply& rep, int fd) {
    send_reply(sock, rep, &fd, fd >= 0 ? 1 : 0);
}

// Answers a Sockets request: fresh non-blocking TCP sockets of the asked family, made here so
// that they belong to this network namespace.
void send_sockets(int sock, const DialRequest& req) {
    int fds[kMaxSocketsPerReply];
    size_t n = 0;
    int err = 0;
    for (int i = 0; i < std::min<int>(req.count, kMaxSocketsPerReply); ++i) {
        int fd = ::socket(req.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            break;
        }
        int syn = kSynRetries;
        ::setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syn, sizeof syn);
        use_local_congestion_control(fd);
        fds[n++] = fd;
    }
    send_reply(sock, {req.seq, n > 0 ? 0 : err}, fds, n);
    for (size_t i = 0; i < n; ++i)
        ::close(fds[i]);
}

struct Connecting {
    DialRequest req;
    From from;
    std::chrono::steady_clock::time_point deadline;
};

// A connect from the client's address gets 1 s (as upstream) before we retry without it.
constexpr auto kTransparentTimeout = std::chrono::seconds(1);
constexpr auto kConnectTimeout = std::chrono::seconds(10);

// Theory of Operation: one epoll set holds the channel and every connect in progress, so a
// slow or unanswered target (a full listen backlog retransmits SYNs for seconds) never holds
// up the others. A connect that has not completed after 10 s is answered with ETIMEDOUT. A
// connect from the client's address that fails in any way is retried once without it.
class Dialer {
  public:
    Dialer(int sock, SourceRouting routing, util::Fd ep)
        : sock_(sock), routing_(routing), ep_(std::move(ep)) {
        watch(sock_, EPOLLIN);
    }

    // Until the parent closes the channel (or the channel fails).
    void run() {
        for (;;) {
            epoll_event events[64];
            const int timeout = next_timeout_ms();
            int n = sys::retry_eintr([&] { return ::epoll_wait(ep_.get(), events, 64, timeout); });
            if (n < 0) return;
            for (int i = 0; i < n; ++i) {
                int fd = events[i].data.fd;
                if (fd == sock_) {
                    if (!take_request()) return;
                    continue;
                }
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                finish(fd, err);
            }
            expire();
        }
    }

  private:
    void watch(int fd, uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev);
    }

    // Until the nearest connect deadline; forever (-1) when no connect is in progress.
    int next_timeout_ms() const {
        if (connecting_.empty()) return -1;
        auto next = std::min_element(connecting_.begin(), connecting_.end(), [](auto& a, auto& b) {
                        return a.second.deadline < b.second.deadline;
                    })->second.deadline;
        auto ms =
            std::chrono::ceil<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
        return static_cast<int>(std::max<int64_t>(ms.count(), 0));
    }

    // One request from the channel; false when the channel is closed or broken.
    bool take_request() {
        DialRequest req;
        ssize_t got =
            sys::retry_eintr([&] { return ::recv(sock_, &req, sizeof req, MSG_DONTWAIT); });
        if (got == 0) return false; // the parent is gone or closed the channel
        if (got < 0) return errno == EAGAIN;
        bool well_formed = got == static_cast<ssize_t>(sizeof req) &&
                           (req.family == AF_INET || req.family == AF_INET6);
        bool sockets = req.op == DialOp::Sockets && req.count > 0;
        bool connect =
            req.op == DialOp::Connect && (req.type == SOCK_STREAM || req.type == SOCK_DGRAM);
        if (!well_formed || (!sockets && !connect)) {
            send_reply(sock_, {req.seq, EINVAL}, -1);
        } else if (sockets) {
            send_sockets(sock_, req);
        } else {
            // The client's address is usable only for TCP and the target's family.
            bool from_client =
                req.src_family == req.family && req.type == SOCK_STREAM && transparent(req.family);
            start(req, from_client ? From::Client : From::Namespace);
        }
        return true;
    }

    // Whether a connect from a client's address can work for `family` (routing prepared).
    bool transparent(int family) {
        if (family == AF_INET) return routing_.v4;
        if (!routing_.v6 && !warned_v6_) {
            util::log::warn("source IP transparency is off for IPv6 (see --debug); servers "
                            "inside see the loopback address as IPv6 clients' address");
            warned_v6_ = true;
        }
        return routing_.v6;
    }

    void start(const DialRequest& req, From from) {
        bool in_progress = false;
        int cfd = start_connect(req, from, in_progress);
        if (cfd < 0 && from == From::Client) {
            util::log::debug("connect from the client's address failed: {}", std::strerror(-cfd));
            cfd = start_connect(req, From::Namespace, in_progress);
            from = From::Namespace;
        }
        if (cfd < 0) {
            send_reply(sock_, {req.seq, -cfd}, -1);
        } else if (!in_progress) {
            send_reply(sock_, {req.seq, 0}, cfd);
            ::close(cfd);
        } else {
            auto timeout = from == From::Client ? kTransparentTimeout : kConnectTimeout;
            connecting_[cfd] = {req, from, std::chrono::steady_clock::now() + timeout};
            watch(cfd, EPOLLOUT);
        }
    }

    void finish(int fd, int err) {
        auto it = connecting_.find(fd);
        if (it == connecting_.end()) return;
        ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
        Connecting c = it->second;
        connecting_.erase(it);
        if (err != 0 && c.from == From::Client) {
            util::log::debug("connect from the client's address failed: {}", std::strerror(err));
            ::close(fd);
            return start(c.req, From::Namespace);
        }
        send_reply(sock_, {c.req.seq, err}, err == 0 ? fd : -1);
        ::close(fd);
    }

    // Answers the connects past their deadline with ETIMEDOUT.
    void expire() {
        auto now = std::chrono::steady_clock::now();
        std::vector<int> expired;
        for (const auto& [fd, c] : connecting_)
            if (c.deadline <= now) expired.push_back(fd);
        for (int fd : expired)
            finish(fd, ETIMEDOUT);
    }

    int sock_;
    SourceRouting routing_;
    util::Fd ep_;
    std::unordered_map<int, Connecting> connecting_;
    bool warned_v6_ = false;
};

} // namespace

void serve_dial_requests(int sock, SourceRouting routing) {
    util::Fd ep(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep) return;
    Dialer(sock, routing, std::move(ep)).run();
}

socklen_t target_address(const DialRequest& r, sockaddr_storage& ss) {
    return to_sockaddr(r.family, r.addr, r.port, ss);
}

util::Result<std::pair<DialReply, std::vector<util::Fd>>> read_reply(int sock) {
    DialReply rep;
    auto got = sys::recv_with_fds(sock, &rep, sizeof rep, MSG_DONTWAIT);
    if (!got) return util::fail(util::sys_error(got.error().err, "dial channel"));
    if (got->size == 0)
        return util::fail(util::sys_error(EPIPE, "the child closed the dial channel"));
    if (got->size != sizeof rep)
        return util::fail(util::plain_error("malformed reply on the dial channel"));
    // fds_truncated: our buffer fits kMaxSocketsPerReply fds, so we ran out of fds (the kernel
    // installs what it can and closes the rest). The reply still answers its request: with the
    // fds that arrived, or, if none did, with EMFILE - a request must never go unanswered, its
    // client waits for it.
    if (got->fds_truncated && got->fds.empty() && rep.err == 0) rep.err = EMFILE;
    return std::pair{rep, std::move(got->fds)};
}

} // namespace rk::port::builtin
