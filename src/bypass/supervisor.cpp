// Purpose: the parent's half of the socket bypass (see supervisor.hpp for the sequence).
#include "bypass/supervisor.hpp"

#include "bypass/caller.hpp"
#include "bypass/channel.hpp"
#include "bypass/evidence.hpp"
#include "bypass/kernel.hpp"
#include "bypass/options.hpp"
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
    OptionDefaults defaults;
    ThreadPidfd thread_pidfd = ThreadPidfd::Unsupported;
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
    EgressLedger ledger; // destinations containers reached the usual way (see decide)
    asio::steady_timer sweep_timer;
    bool sweep_armed = false;
    Clock::time_point last_fd_warning{};

    Impl(asio::io_context& i, Fd ch, Config c)
        : io(i), cfg(std::move(c)), channel(i, ch.release()), sweep_timer(i) {}

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
    // The listener is blocking, and SECCOMP_IOCTL_NOTIF_RECV waits for the next notification
    // whatever the fd's flags: it is called only after poll() said one is pending. When the
    // last process under the filter is gone the listener reports POLLHUP (the event loop sees
    // it as readable) and RECV would wait forever - on Linux before 6.6 with no way out, taking
    // the loop that reaps the child and handles SIGTERM with it. So a hang-up ends the
    // listener.
    void arm_listener() {
        listener->async_wait(asio::posix::stream_descriptor::wait_read,
                             [this](boost::system::error_code ec) {
                                 if (ec || !listener) return;
                                 // A few per wake-up, then the rest of the loop gets a turn.
                                 for (int i = 0; i < 16; ++i) {
                                     pollfd p{listener_fd(), POLLIN, 0};
                                     if (::poll(&p, 1, 0) != 1) break;
                                     if (!(p.revents & POLLIN)) {
                                         if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
                                             return close_listener();
                                         break;
                                     }
                                     receive_one();
                                 }
                                 arm_listener();
                             });
    }

    void close_listener() {
        log::debug("socket bypass: no process is left under the filter");
        listener.reset();
    }

    void receive_one() {
        seccomp_notif n{};
        if (notif_recv(listener_fd(), &n) != 0) {
            // ENOENT: the caller went away between poll() and RECV.
            if (errno == EBADF || errno == EINVAL)
                log::error("socket bypass: {}", std::strerror(errno));
            return;
        }
        int refuse = 0;
        if (auto c = inspect(n, refuse)) {
            with_netns(std::move(c));
        } else if (refuse != 0) {
            reply(n.id, refuse);
        } else {
            pass(n.id);
        }
    }

    // Steps 1 and 2 (supervisor.hpp). Returns a Call to go on with; or nullptr with `refuse`
    // 0 (the kernel carries on) or an errno to fail the call with. Reads from the caller (its
    // memory, its fd, /proc/TID) count only if the notification is still valid after the last
    // of them: then the thread was blocked in this connect() throughout, so its tid named it.
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
        Fd pidfd = open_caller(c->tid, thread_pidfd);
        if (!pidfd) return nullptr; // gone, or a thread whose fd table we cannot name
        c->sock = Fd(pidfd_getfd(pidfd.get(), c->fd));
        if (!c->sock && (errno == EMFILE || errno == ENFILE)) {
            // What we can let go of: watched connections and idle namespaces' sockets.
            ledger.drop_watches();
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
            const uint64_t caller_ns = netns_inode_of(c->tid);
            if (caller_ns == 0 || caller_ns == host_key || !still_caller(n.id))
                return nullptr; // gone, or the host's
            if (!tcp || ti.tcpi_state == TCP_CLOSE) refuse = ENETUNREACH;
            return nullptr;
        }
        // (Only now: a socket of ours must be refused above wherever it connects to.)
        if (!tcp || ti.tcpi_state != TCP_CLOSE || dst->port == 0) return nullptr;
        for (const auto& p : cfg.never)
            if (p.contains(dst->addr)) return nullptr;
        int proto = 0;
        sl = sizeof proto;
        if (::getsockopt(c->sock.get(), SOL_SOCKET, SO_PROTOCOL, &proto, &sl) != 0 ||
            proto != IPPROTO_TCP)
            return nullptr;
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
        auto flags = read_fd_flags(c->tid, c->fd);
        if (!flags || !still_caller(n.id)) return nullptr;
        c->nonblock = flags->nonblock;
        c->cloexec = flags->cloexec;
        return c;
    }

    bool still_caller(__u64 id) { return notif_id_valid(listener_fd(), id); }

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
            if (!ledger.reached(e)) {
                ledger.watch(e, std::move(c->sock));
                arm_sweep();
                return pass(c->id);
            }
        }
        connect_from_host(c);
    }

    // --- step 4: our socket --------------------------------------------------------------
    void warn_fds() {
        auto now = Clock::now();
        if (now - last_fd_warning < std::chrono::minutes(1)) return;
        last_fd_warning = now;
        log::warn("socket bypass: out of file descriptors; connections go the usual way "
                  "meanwhile");
    }

    void connect_from_host(const CallPtr& c) {
        const int fam = c->dst.socket_family;
        if (!defaults.loaded(fam)) return pass(c->id);
        Fd s(::socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!s) {
            if (errno == EMFILE || errno == ENFILE) warn_fds();
            return pass(c->id);
        }
        if (defaults.carry(c->sock.get(), s.get(), fam, !c->nonblock) != CarryResult::Carried)
            return pass(c->id);
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
    //
    // ADDFD with SETFD replaces whatever is at the caller's fd number. The caller's thread is
    // blocked in connect() on it, but a sibling thread may have closed it and put another file
    // there meanwhile: the fd must still name the socket we copied (kcmp), right before. The
    // window left between that check and ADDFD is the program's own race (closing an fd
    // another thread is using), which the kernel does not order either.
    void install(const Call& c, Fd s, int result) {
        if (!c.nonblock && ::fcntl(s.get(), F_SETFL, 0) != 0) // ours was made non-blocking
            return pass(c.id);
        if (!same_file(c.tid, c.fd, c.sock.get())) return pass(c.id);
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
            if (ec) return; // cancelled: `this` may be gone
            sweep_armed = false;
            sweep();
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
        ledger.sweep();
        if (!waiting.empty() || !cache.empty() || ledger.watching()) arm_sweep();
    }

    util::Status init() {
        host_key = netns_inode_of(::getpid());
        if (host_key == 0) return fail(util::sys_error("stat /proc/self/ns/net"));
        Fd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!probe || (host_cookie = netns_cookie(probe.get())) == 0)
            return fail(util::sys_error("socket bypass: SO_NETNS_COOKIE (Linux 5.14)"));
        if (cfg.disable_host_loopback) {
            host_nl = Fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
            if (!host_nl) return fail(util::sys_error("socket bypass: socket(AF_NETLINK)"));
        }
        defaults.load(AF_INET);
        defaults.load(AF_INET6);
        thread_pidfd = probe_thread_pidfd();
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
