// Purpose: the parent's half of the socket bypass (see supervisor.hpp for the sequence).
#include "bypass/supervisor.hpp"

#include "bypass/channel.hpp"
#include "bypass/kernel.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <map>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unordered_map>
#include <unordered_set>

namespace rk::bypass {
using util::fail;
using util::Fd;
namespace log = util::log;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

#ifndef PIDFD_THREAD
constexpr unsigned PIDFD_THREAD = O_EXCL; // Linux 6.9
#endif

// The options carried from the caller's socket to ours when they differ from a fresh socket's
// (read once from one of ours): `family` 0 for both families. Those that matter before and at
// connect() time, or that programs set before connecting (timeouts, buffers); each costs a
// getsockopt per bypassed connect, so the rare ones (priority, TTL, congestion control, MSS)
// are left out. The keepalive timers are read only when SO_KEEPALIVE is on (the entry before).
struct CarriedOption {
    int family, level, name;
    bool needs_keepalive = false;
};
constexpr CarriedOption kCarried[] = {
    {0, SOL_SOCKET, SO_REUSEADDR},
    {0, SOL_SOCKET, SO_REUSEPORT},
    {0, SOL_SOCKET, SO_SNDBUF},
    {0, SOL_SOCKET, SO_RCVBUF},
    {0, SOL_SOCKET, SO_LINGER},
    {0, SOL_SOCKET, SO_RCVTIMEO},
    {0, SOL_SOCKET, SO_SNDTIMEO},
    {0, IPPROTO_TCP, TCP_NODELAY},
    {0, IPPROTO_TCP, TCP_USER_TIMEOUT},
    {0, IPPROTO_TCP, TCP_SYNCNT},
    {0, SOL_SOCKET, SO_KEEPALIVE},
    {0, IPPROTO_TCP, TCP_KEEPIDLE, true},
    {0, IPPROTO_TCP, TCP_KEEPINTVL, true},
    {0, IPPROTO_TCP, TCP_KEEPCNT, true},
    {AF_INET, IPPROTO_IP, IP_TOS},
    {AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY},
    {AF_INET6, IPPROTO_IPV6, IPV6_TCLASS},
};
constexpr size_t kCarriedCount = sizeof kCarried / sizeof kCarried[0];

struct OptionValue {
    std::array<uint8_t, 32> bytes{};
    socklen_t len = 0;
    bool operator==(const OptionValue& o) const {
        return len == o.len && std::memcmp(bytes.data(), o.bytes.data(), len) == 0;
    }
};

bool get_option(int fd, const CarriedOption& o, OptionValue& v) {
    v.len = sizeof v.bytes;
    return ::getsockopt(fd, o.level, o.name, v.bytes.data(), &v.len) == 0;
}

bool applies(const CarriedOption& o, int family) {
    return o.family == 0 || o.family == family;
}

// The kernel's own start values of the buffer sizes (tcp_wmem[1], tcp_rmem[1]): a namespace
// made by the command has these even when the host's are tuned, and carrying them would turn
// off buffer autotuning on our socket.
bool kernel_default_buffer(const CarriedOption& o, const OptionValue& v) {
    if (o.level != SOL_SOCKET || (o.name != SO_SNDBUF && o.name != SO_RCVBUF) ||
        v.len != sizeof(int))
        return false;
    int n;
    std::memcpy(&n, v.bytes.data(), sizeof n);
    return (o.name == SO_SNDBUF && n == 16384) || (o.name == SO_RCVBUF && n == 131072);
}

// The network namespace's cookie (SO_NETNS_COOKIE, Linux 5.14): any socket, no capability.
uint64_t netns_cookie(int sock) {
    uint64_t cookie = 0;
    socklen_t l = sizeof cookie;
    if (::getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &l) != 0) return 0;
    return cookie;
}

// The inode of a /proc/<pid>/ns/net entry: which network namespace that process is in.
uint64_t netns_inode(const char* path) {
    struct stat st {};
    if (::stat(path, &st) != 0) return 0;
    return static_cast<uint64_t>(st.st_ino);
}

// "flags:\t02004002" in /proc/<tid>/fdinfo/<fd>: the caller's file status flags (O_NONBLOCK)
// and whether its fd is close-on-exec (a flag of its fd table, which our copy does not share).
bool read_fd_flags(pid_t tid, int fd, bool& nonblock, bool& cloexec) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", tid, fd);
    Fd f(::open(path, O_RDONLY | O_CLOEXEC));
    if (!f) return false;
    char buf[512];
    ssize_t n = ::read(f.get(), buf, sizeof buf - 1);
    if (n <= 0) return false;
    buf[n] = '\0';
    const char* p = std::strstr(buf, "flags:");
    if (!p) return false;
    const unsigned long flags = std::strtoul(p + 6, nullptr, 8);
    nonblock = (flags & O_NONBLOCK) != 0;
    cloexec = (flags & O_CLOEXEC) != 0;
    return true;
}

// One connect() being decided or carried out.
struct Call {
    __u64 id = 0;
    pid_t tid = 0;
    int fd = -1; // the caller's fd number
    Destination dst;
    Fd sock;             // our copy of the caller's socket
    uint64_t ns_key = 0; // its network namespace's cookie
    uint16_t bound_port = 0;
    bool nonblock = false, cloexec = false;
};
using CallPtr = std::shared_ptr<Call>;

} // namespace

struct Supervisor::Impl {
    asio::io_context& io;
    Config cfg;
    asio::posix::stream_descriptor channel;
    std::optional<asio::posix::stream_descriptor> listener;
    bool channel_open = true;
    Fd host_nl;               // rtnetlink in our own namespace (--disable-host-loopback)
    uint64_t host_key = 0;    // our own network namespace (inode)
    uint64_t host_cookie = 0; // and its cookie
    uint64_t home_key = 0;    // the command's network namespace (Home frame)
    Fd home_nl;
    uint32_t seq = 0;
    std::array<OptionValue, kCarriedCount> defaults4{}, defaults6{};
    bool have_defaults4 = false, have_defaults6 = false;
    Stats stats;

    struct CachedNetns {
        Fd nl;
        Clock::time_point used;
    };
    std::unordered_map<uint64_t, CachedNetns> cache;
    struct Waiting {
        std::vector<CallPtr> calls;
        Clock::time_point deadline;
    };
    std::unordered_map<uint64_t, Waiting> waiting;

    // Destinations a namespace other than home has reached the usual way (see decide).
    struct Evidence {
        uint64_t ns;
        Address dst;
        bool operator==(const Evidence&) const = default;
    };
    struct EvidenceHash {
        size_t operator()(const Evidence& e) const {
            uint64_t a, b;
            std::memcpy(&a, e.dst.bytes.data(), 8);
            std::memcpy(&b, e.dst.bytes.data() + 8, 8);
            return std::hash<uint64_t>()(e.ns ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b << 1));
        }
    };
    std::unordered_set<Evidence, EvidenceHash> egress;
    struct Watch {
        Evidence evidence;
        Fd sock;
        Clock::time_point deadline;
    };
    std::vector<Watch> watches;
    asio::steady_timer quick_check;
    bool quick_check_armed = false;
    asio::steady_timer sweep_timer;
    bool sweep_armed = false;
    Clock::time_point last_fd_warning{};

    Impl(asio::io_context& i, Fd ch, Config c)
        : io(i), cfg(std::move(c)), channel(i, ch.release()), quick_check(i), sweep_timer(i) {}

    // --- replies -------------------------------------------------------------------------
    int listener_fd() { return listener ? listener->native_handle() : -1; }

    void pass(__u64 id) {
        seccomp_notif_resp r{};
        r.id = id;
        r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        notif_send(listener_fd(), &r);
        ++stats.passed;
    }
    void reply(__u64 id, int err) {
        seccomp_notif_resp r{};
        r.id = id;
        r.error = -err;
        notif_send(listener_fd(), &r);
    }

    // --- the channel ---------------------------------------------------------------------
    void arm_channel() {
        channel.async_wait(asio::posix::stream_descriptor::wait_read,
                           [this](boost::system::error_code ec) {
                               if (ec) return;
                               if (read_channel()) arm_channel();
                           });
    }

    // Returns false once the channel is closed.
    bool read_channel() {
        for (;;) {
            auto r = recv_frame(channel.native_handle());
            if (!r) {
                if (r.error().err == EAGAIN) return true;
                channel_open = false;
                // The child is gone: nothing waiting for it will be answered.
                for (auto& [key, w] : waiting)
                    for (auto& c : w.calls)
                        pass(c->id);
                waiting.clear();
                return false;
            }
            switch (r->frame.tag) {
            case Tag::Home:
                if (r->fd && !home_nl) {
                    home_key = netns_cookie(r->fd.get());
                    home_nl = std::move(r->fd);
                }
                break;
            case Tag::Listener:
                if (r->fd && !listener) {
                    listener.emplace(io, r->fd.release());
                    arm_listener();
                }
                break;
            case Tag::Reply:
                on_reply(r->frame, std::move(r->fd));
                break;
            case Tag::Query:
                break;
            }
        }
    }

    // --- notifications -------------------------------------------------------------------
    void arm_listener() {
        listener->async_wait(asio::posix::stream_descriptor::wait_read,
                             [this](boost::system::error_code ec) {
                                 if (ec) return;
                                 // A few per wake-up, then the rest of the loop gets a turn.
                                 for (int i = 0; i < 16; ++i)
                                     if (!receive_one()) break;
                                 arm_listener();
                             });
    }

    bool receive_one() {
        seccomp_notif n{};
        if (notif_recv(listener_fd(), &n) != 0) {
            if (errno == EBADF || errno == EINVAL)
                log::error("socket bypass: {}", std::strerror(errno));
            return false;
        }
        int refuse = 0;
        if (auto c = inspect(n, refuse)) {
            with_netns(std::move(c));
        } else if (refuse != 0) {
            reply(n.id, refuse);
        } else {
            pass(n.id);
        }
        // More pending? (the listener is blocking; never wait in RECV)
        pollfd p{listener_fd(), POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    }

    // Steps 1 and 2 (supervisor.hpp). Returns a Call to go on with; or nullptr with `refuse`
    // 0 (the kernel carries on) or an errno to fail the call with.
    CallPtr inspect(const seccomp_notif& n, int& refuse) {
        refuse = 0;
        const auto len = n.data.args[2];
        if (len < sizeof(sa_family_t) || len > sizeof(sockaddr_storage)) return nullptr;
        std::array<uint8_t, sizeof(sockaddr_storage)> raw{};
        iovec local{raw.data(), static_cast<size_t>(len)};
        iovec remote{reinterpret_cast<void*>(n.data.args[1]), static_cast<size_t>(len)};
        if (::process_vm_readv(static_cast<pid_t>(n.pid), &local, 1, &remote, 1, 0) !=
            static_cast<ssize_t>(len))
            return nullptr;
        auto dst = parse_sockaddr({raw.data(), static_cast<size_t>(len)});
        if (!dst) return nullptr; // AF_UNIX and friends; AF_UNSPEC only disconnects

        auto c = std::make_shared<Call>();
        c->id = n.id;
        c->tid = static_cast<pid_t>(n.pid);
        c->fd = static_cast<int>(n.data.args[0]);
        c->dst = *dst;
        Fd pidfd(sys::pidfd_open(c->tid, PIDFD_THREAD));
        if (!pidfd && errno == EINVAL) pidfd = Fd(sys::pidfd_open(c->tid, 0)); // < Linux 6.9
        if (!pidfd) return nullptr;                                            // gone
        c->sock = Fd(pidfd_getfd(pidfd.get(), c->fd));
        if (!c->sock && (errno == EMFILE || errno == ENFILE)) {
            // What we can let go of: watched connections and idle namespaces' sockets.
            watches.clear();
            cache.clear();
            c->sock = Fd(pidfd_getfd(pidfd.get(), c->fd));
        }
        if (!c->sock) {
            if (errno == EBADF || errno == ESRCH) return nullptr; // the kernel says EBADF itself
            // Out of fds: we cannot tell whether the socket is one of ours, so no.
            warn_fds();
            refuse = ENOBUFS;
            return nullptr;
        }
        // The memory and the fd were read from the caller only if it is still the caller.
        if (!notif_id_valid(listener_fd(), n.id)) return nullptr;
        // Which namespace the socket is in (its cookie). The host's: natural for a caller that
        // lives there (--net=host, --detach-netns), else a socket of ours, connected again
        // after a failed connect: the kernel would connect it, in the host's namespace,
        // wherever the caller asks. Refused, unless it is connecting, connected or listening
        // (then the kernel answers without the address).
        c->ns_key = netns_cookie(c->sock.get());
        if (c->ns_key == 0) return nullptr;
        tcp_info ti{};
        socklen_t sl = sizeof ti;
        const bool tcp = ::getsockopt(c->sock.get(), IPPROTO_TCP, TCP_INFO, &ti, &sl) == 0;
        if (c->ns_key == host_cookie) {
            char path[64];
            std::snprintf(path, sizeof path, "/proc/%d/ns/net", c->tid);
            uint64_t caller_ns = netns_inode(path);
            if (caller_ns == 0 || caller_ns == host_key) return nullptr; // gone, or host's
            if (!tcp || ti.tcpi_state == TCP_CLOSE) refuse = ENETUNREACH;
            return nullptr;
        }
        if (!tcp || ti.tcpi_state != TCP_CLOSE) return nullptr;
        int proto = 0;
        sl = sizeof proto;
        if (::getsockopt(c->sock.get(), SOL_SOCKET, SO_PROTOCOL, &proto, &sl) != 0 ||
            proto != IPPROTO_TCP || dst->port == 0)
            return nullptr;
        for (const auto& p : cfg.never)
            if (p.contains(dst->addr)) return nullptr;
        sockaddr_storage bound{};
        sl = sizeof bound;
        if (::getsockname(c->sock.get(), reinterpret_cast<sockaddr*>(&bound), &sl) != 0 ||
            bound.ss_family != dst->socket_family)
            return nullptr; // a family the kernel refuses itself
        if (bound.ss_family == AF_INET) {
            auto* b = reinterpret_cast<sockaddr_in*>(&bound);
            if (b->sin_addr.s_addr != htonl(INADDR_ANY)) return nullptr; // chosen source
            c->bound_port = ntohs(b->sin_port);
        } else {
            auto* b = reinterpret_cast<sockaddr_in6*>(&bound);
            if (!IN6_IS_ADDR_UNSPECIFIED(&b->sin6_addr)) return nullptr;
            c->bound_port = ntohs(b->sin6_port);
        }
        if (!read_fd_flags(c->tid, c->fd, c->nonblock, c->cloexec)) return nullptr;
        return c;
    }

    // Step 3's first half: the caller's namespace's rtnetlink socket, from the cache or the
    // child.
    void with_netns(CallPtr c) {
        if (!home_nl) return pass(c->id);
        if (c->ns_key == home_key) return decide(c, home_nl.get());
        if (auto it = cache.find(c->ns_key); it != cache.end()) {
            it->second.used = Clock::now();
            return decide(c, it->second.nl.get());
        }
        if (!channel_open) return pass(c->id);
        auto [it, fresh] = waiting.try_emplace(c->ns_key);
        it->second.calls.push_back(c);
        if (!fresh) return;
        it->second.deadline = Clock::now() + std::chrono::seconds(2);
        Frame q{Tag::Query};
        q.key = c->ns_key;
        Fd ns(::ioctl(c->sock.get(), SIOCGSKNS));
        if (!ns || !send_frame(channel.native_handle(), q, ns.get())) {
            for (auto& w : it->second.calls)
                pass(w->id);
            waiting.erase(it);
            return;
        }
        arm_sweep();
    }

    void on_reply(const Frame& f, Fd nl) {
        auto it = waiting.find(f.key);
        if (it == waiting.end()) return; // late: its callers were let through already
        auto calls = std::move(it->second.calls);
        waiting.erase(it);
        if (f.err != 0 || !nl) {
            log::debug("socket bypass: no rtnetlink socket in netns {}: {}", f.key,
                       std::strerror(f.err));
            for (auto& c : calls)
                pass(c->id);
            return;
        }
        int fd = nl.get();
        cache[f.key] = CachedNetns{std::move(nl), Clock::now()};
        for (auto& c : calls)
            decide(c, fd);
    }

    Route lookup(int nl, const Address& a) {
        auto req = route_request(a, ++seq);
        if (::send(nl, req.data(), req.size(), MSG_DONTWAIT) != static_cast<ssize_t>(req.size()))
            return Route{EIO};
        // rtnetlink answers within send(); anything older on the socket is skipped.
        std::array<uint8_t, 4096> buf;
        for (int i = 0; i < 8; ++i) {
            ssize_t n = ::recv(nl, buf.data(), buf.size(), MSG_DONTWAIT);
            if (n <= 0) return Route{EIO};
            if (auto r = parse_route_reply({buf.data(), static_cast<size_t>(n)}, seq)) return *r;
        }
        return Route{EIO};
    }

    // Step 3's second half: the routes.
    void decide(const CallPtr& c, int caller_nl) {
        if (!outside(lookup(caller_nl, c->dst.addr))) return pass(c->id);
        if (c->ns_key != home_key && !outside(lookup(home_nl.get(), c->dst.addr)))
            return pass(c->id);
        if (cfg.disable_host_loopback) {
            Route h = lookup(host_nl.get(), c->dst.addr);
            if (h.error != 0 || h.type == RTN_LOCAL) return pass(c->id);
        }
        // A namespace behind the home one (a container's) may be kept in by the home
        // namespace's packet filter, which routes do not show (Docker < 25 isolates --internal
        // networks that way): its connections to a destination are bypassed once one of them
        // got through the usual way.
        if (c->ns_key != home_key) {
            const Evidence e{c->ns_key, c->dst.addr};
            if (!egress.contains(e)) check_watches(&e);
            if (!egress.contains(e)) {
                watch(c);
                return pass(c->id);
            }
        }
        connect_from_host(c);
    }

    // Watches a connection left to the kernel (our copy of the caller's socket): once it is
    // established, the destination is reachable from that namespace the usual way. Its state
    // is read (TCP_INFO) when the next connect from that namespace to that destination comes
    // and on each sweep - never through the event loop, which would make the caller's socket
    // non-blocking, nor SO_ERROR, which would take the error from the caller. A refused or
    // dropped connection proves nothing and is forgotten after 10 s.
    void watch(const CallPtr& c) {
        if (watches.size() >= 64) return;
        watches.push_back({{c->ns_key, c->dst.addr},
                           std::move(c->sock),
                           Clock::now() + std::chrono::seconds(10)});
        arm_sweep();
    }

    // Moves the watched connections that got through to `egress`; drops the decided ones.
    void check_watches(const Evidence* only) {
        const auto now = Clock::now();
        for (auto it = watches.begin(); it != watches.end();) {
            if (only && !(it->evidence == *only)) {
                ++it;
                continue;
            }
            tcp_info ti{};
            socklen_t sl = sizeof ti;
            bool done = now >= it->deadline;
            if (::getsockopt(it->sock.get(), IPPROTO_TCP, TCP_INFO, &ti, &sl) != 0 ||
                ti.tcpi_state == TCP_CLOSE) {
                done = true;
            } else if (ti.tcpi_state != TCP_SYN_SENT) {
                if (egress.size() >= 65536) egress.clear();
                egress.insert(it->evidence);
                done = true;
            }
            it = done ? watches.erase(it) : std::next(it);
        }
    }

    // --- step 4: our socket --------------------------------------------------------------
    void warn_fds() {
        auto now = Clock::now();
        if (now - last_fd_warning < std::chrono::minutes(1)) return;
        last_fd_warning = now;
        log::warn("socket bypass: out of file descriptors; connections go the usual way "
                  "meanwhile");
    }

    bool carry_options(const Call& c, int ours) {
        const int fam = c.dst.socket_family;
        const auto& defaults = fam == AF_INET ? defaults4 : defaults6;
        bool keepalive = false;
        for (size_t i = 0; i < kCarriedCount; ++i) {
            const auto& o = kCarried[i];
            if (!applies(o, fam) || (o.needs_keepalive && !keepalive)) continue;
            OptionValue v;
            if (!get_option(c.sock.get(), o, v)) continue;
            if (o.level == SOL_SOCKET && o.name == SO_KEEPALIVE)
                keepalive = v.len == sizeof(int) && v.bytes[0] != 0;
            // A blocking connect with a send timeout: when it runs out the kernel says
            // EINPROGRESS for a connect it started, EALREADY for one it found under way (ours,
            // see install): such callers take the usual path.
            if (o.level == SOL_SOCKET && o.name == SO_SNDTIMEO && !c.nonblock &&
                !(v == defaults[i]))
                return false;
            if (v == defaults[i] || kernel_default_buffer(o, v)) continue;
            if (o.level == SOL_SOCKET && (o.name == SO_SNDBUF || o.name == SO_RCVBUF)) {
                int n; // the kernel doubles what was set
                std::memcpy(&n, v.bytes.data(), sizeof n);
                n /= 2;
                std::memcpy(v.bytes.data(), &n, sizeof n);
            }
            if (::setsockopt(ours, o.level, o.name, v.bytes.data(), v.len) != 0) {
                // e.g. a buffer size or a priority the host allows only with privileges
                log::debug("socket bypass: option {}/{} not carried ({}); not bypassed", o.level,
                           o.name, std::strerror(errno));
                return false;
            }
        }
        return true;
    }

    void connect_from_host(const CallPtr& c) {
        const int fam = c->dst.socket_family;
        if ((fam == AF_INET && !have_defaults4) || (fam == AF_INET6 && !have_defaults6))
            return pass(c->id);
        Fd s(::socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!s) {
            if (errno == EMFILE || errno == ENFILE) warn_fds();
            return pass(c->id);
        }
        if (!carry_options(*c, s.get())) return pass(c->id);
        sockaddr_storage sa;
        if (c->bound_port != 0) {
            // The caller bound a port (on the unspecified address): the same port on ours.
            Destination any{fam, Address{fam, {}}, c->bound_port};
            socklen_t bl = to_sockaddr(any, sa);
            if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), bl) != 0) {
                log::debug("socket bypass: cannot bind port {} on the host ({}); not bypassed",
                           c->bound_port, std::strerror(errno));
                return pass(c->id);
            }
        }
        socklen_t sl = to_sockaddr(c->dst, sa);
        int err = ::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sl) == 0 ? 0 : errno;
        if (err != 0 && err != EINPROGRESS) {
            ++stats.failed;
            return reply(c->id, err);
        }
        install(*c, std::move(s), err);
    }

    // Puts our socket at the caller's fd number. A non-blocking caller (or a connect that
    // finished at once) gets `result` now. A blocking caller's connect() then goes on in the
    // kernel (CONTINUE) on our socket: already connecting, the kernel waits for it with the
    // caller's SO_SNDTIMEO and signals and returns its result, and reads no address (a
    // connecting socket's connect() ignores it; AF_UNSPEC would only disconnect it).
    void install(const Call& c, Fd s, int result) {
        if (!c.nonblock) ::fcntl(s.get(), F_SETFL, O_RDWR); // ours is made non-blocking
        if (notif_addfd(listener_fd(), c.id, s.get(), c.fd, c.cloexec) < 0) {
            if (errno == ENOENT) return; // the caller is gone
            if (errno == EMFILE) warn_fds();
            return pass(c.id);
        }
        ++stats.bypassed;
        if (result == EINPROGRESS && !c.nonblock) {
            seccomp_notif_resp r{};
            r.id = c.id;
            r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            notif_send(listener_fd(), &r);
            return;
        }
        reply(c.id, result);
    }

    // --- housekeeping --------------------------------------------------------------------
    void arm_sweep() {
        if (sweep_armed) return;
        sweep_armed = true;
        sweep_timer.expires_after(std::chrono::milliseconds(250));
        sweep_timer.async_wait([this](boost::system::error_code ec) {
            sweep_armed = false;
            if (!ec) sweep();
        });
    }

    // Lets through the calls whose query the child did not answer; closes rtnetlink sockets
    // unused for a while (each keeps its namespace alive).
    void sweep() {
        const auto now = Clock::now();
        for (auto it = waiting.begin(); it != waiting.end();) {
            if (now < it->second.deadline) {
                ++it;
                continue;
            }
            log::warn("socket bypass: the child did not answer for netns {} in 2 s", it->first);
            for (auto& c : it->second.calls)
                pass(c->id);
            it = waiting.erase(it);
        }
        for (auto it = cache.begin(); it != cache.end();)
            it = now - it->second.used > std::chrono::seconds(30) ? cache.erase(it) : ++it;
        check_watches(nullptr);
        if (!waiting.empty() || !cache.empty() || !watches.empty()) arm_sweep();
    }

    util::Status init() {
        host_key = netns_inode("/proc/self/ns/net");
        if (host_key == 0) return fail(util::sys_error("stat /proc/self/ns/net"));
        Fd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!probe || (host_cookie = netns_cookie(probe.get())) == 0)
            return fail(util::sys_error("socket bypass: SO_NETNS_COOKIE (Linux 5.14)"));
        if (cfg.disable_host_loopback) {
            host_nl = Fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
            if (!host_nl) return fail(util::sys_error("socket bypass: socket(AF_NETLINK)"));
        }
        for (int fam : {AF_INET, AF_INET6}) {
            Fd s(::socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0));
            if (!s) continue; // no IPv6 on this host: IPv6 connects are not bypassed
            auto& d = fam == AF_INET ? defaults4 : defaults6;
            for (size_t i = 0; i < kCarriedCount; ++i)
                if (applies(kCarried[i], fam)) get_option(s.get(), kCarried[i], d[i]);
            (fam == AF_INET ? have_defaults4 : have_defaults6) = true;
        }
        arm_channel();
        return {};
    }
};

Supervisor::Supervisor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Supervisor::~Supervisor() = default;

util::Result<std::unique_ptr<Supervisor>> Supervisor::start(asio::io_context& io, Fd channel,
                                                            Config cfg) {
    auto impl = std::make_unique<Impl>(io, std::move(channel), std::move(cfg));
    RK_TRY(impl->init());
    return std::unique_ptr<Supervisor>(new Supervisor(std::move(impl)));
}

Stats Supervisor::stats() const {
    return impl_->stats;
}

} // namespace rk::bypass
