// Purpose: the parent's half of the socket bypass (see supervisor.hpp for the sequence).
#include "bypass/supervisor.hpp"

#include "bypass/caller.hpp"
#include "bypass/channel.hpp"
#include "bypass/evidence.hpp"
#include "bypass/kernel.hpp"
#include "bypass/options.hpp"
#include "bypass/routes.hpp"
#include "bypass/watcher.hpp"
#include "util/log.hpp"

#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/uio.h>
#include <thread>
#include <unordered_map>
#include <vector>

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
};

// Wakes a worker out of the receive ioctl (its only unblocked signal): the handler does
// nothing, the ioctl returns EINTR. SIGURG is never forwarded to the command (sys/signals),
// so the main thread does not block it either, and its default is to be ignored.
constexpr int kWakeSignal = SIGURG;
void on_wake_signal(int) {}

// Pidfds of callers' threads, kept while their threads live, where a pidfd names a thread
// (PIDFD_THREAD): a thread that connects again costs no pidfd_open. A dead thread's pidfd
// answers ESRCH (its tid may be someone else's by then): it is opened again.
class PidfdCache {
  public:
    std::shared_ptr<Fd> get(pid_t tid, ThreadPidfd mode) {
        if (mode != ThreadPidfd::Supported) return open(tid, mode);
        {
            std::lock_guard lock(mu_);
            if (auto it = fds_.find(tid); it != fds_.end()) return it->second;
        }
        auto fd = open(tid, mode);
        if (!fd) return fd;
        std::lock_guard lock(mu_);
        if (fds_.size() >= 1024) fds_.clear();
        fds_[tid] = fd;
        return fd;
    }
    void forget(pid_t tid) {
        std::lock_guard lock(mu_);
        fds_.erase(tid);
    }
    void clear() {
        std::lock_guard lock(mu_);
        fds_.clear();
    }

  private:
    static std::shared_ptr<Fd> open(pid_t tid, ThreadPidfd mode) {
        Fd fd = open_caller(tid, mode);
        return fd ? std::make_shared<Fd>(std::move(fd)) : nullptr;
    }
    std::mutex mu_;
    std::unordered_map<pid_t, std::shared_ptr<Fd>> fds_;
};

} // namespace

struct Supervisor::Impl {
    asio::io_context& io;
    Config cfg;
    asio::posix::stream_descriptor channel; // read on the loop; workers send Query frames
    std::atomic<bool> channel_open{true};
    // Set on the loop before the workers start (Home precedes Listener), then read-only.
    Fd listener;
    uint64_t host_key = 0;    // our own network namespace (inode)
    uint64_t host_cookie = 0; // and its cookie
    uint64_t home_key = 0;    // the command's network namespace (Home frame)
    std::unique_ptr<NetnsRoutes> home_routes, host_routes; // host: --disable-host-loopback
    OptionDefaults defaults;
    ThreadPidfd thread_pidfd = ThreadPidfd::Unsupported;

    Counters counters;
    EgressLedger ledger; // destinations containers reached the usual way (see decide)
    PidfdCache pidfds;

    // Namespaces behind home (containers'): their route lookups, and the calls waiting for
    // the child to make an rtnetlink socket in one. Guarded by mu; never held while calling
    // into the watcher.
    std::mutex mu;
    struct Netns {
        std::shared_ptr<NetnsRoutes> routes;
        Clock::time_point used;
    };
    std::unordered_map<uint64_t, Netns> netns;
    struct Waiting {
        std::vector<Call> calls;
        Clock::time_point deadline;
    };
    std::unordered_map<uint64_t, Waiting> waiting;
    Clock::time_point last_fd_warning{};

    Watcher watcher{counters, ledger, [this] { return housekeeping(); }};
    std::vector<std::thread> workers;
    std::atomic<bool> stopping{false};
    std::atomic<int> running{0};

    Impl(asio::io_context& i, Fd ch, Config c)
        : io(i), cfg(std::move(c)), channel(i, ch.release()) {}

    ~Impl() { stop_workers(); }

    // --- replies -------------------------------------------------------------------------
    void pass(__u64 id) {
        seccomp_notif_resp r{};
        r.id = id;
        r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        notif_send(listener.get(), &r);
        counters.passed.fetch_add(1, std::memory_order_relaxed);
    }
    void reply(__u64 id, int err) {
        seccomp_notif_resp r{};
        r.id = id;
        r.error = -err;
        notif_send(listener.get(), &r);
    }

    // --- the channel (event loop) --------------------------------------------------------
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
                std::unordered_map<uint64_t, Waiting> left;
                {
                    std::lock_guard lock(mu);
                    left.swap(waiting);
                }
                for (auto& [key, w] : left)
                    for (auto& c : w.calls)
                        pass(c.id);
                return false;
            }
            switch (r->frame.tag) {
            case Tag::Home:
                if (r->fd && !home_routes && !listener) {
                    home_key = netns_cookie(r->fd.get());
                    home_routes = std::make_unique<NetnsRoutes>(std::move(r->fd));
                }
                break;
            case Tag::Listener:
                if (r->fd && !listener) start_workers(std::move(r->fd));
                break;
            case Tag::Reply:
                on_reply(r->frame, std::move(r->fd));
                break;
            case Tag::Query:
                break;
            }
        }
    }

    // --- workers -------------------------------------------------------------------------
    void start_workers(Fd l) {
        listener = std::move(l);
        const bool sync = notif_sync_wakeup(listener.get());
        log::debug("socket bypass: {} workers, synchronous wake-ups {}", kWorkers,
                   sync ? "on" : "unavailable (Linux < 6.6)");
        struct sigaction sa {};
        sa.sa_handler = on_wake_signal; // no SA_RESTART: the ioctl must return
        sigemptyset(&sa.sa_mask);
        ::sigaction(kWakeSignal, &sa, nullptr);
        for (int i = 0; i < kWorkers; ++i) {
            try {
                workers.emplace_back([this] { work(); });
            } catch (const std::system_error& e) {
                log::warn("socket bypass: cannot start a worker: {}", e.what());
                break;
            }
        }
    }

    void stop_workers() {
        stopping = true;
        // A signal that lands before a worker enters the ioctl is lost: keep sending until
        // every one has left its loop.
        while (running.load() > 0) {
            for (auto& t : workers)
                ::pthread_kill(t.native_handle(), kWakeSignal);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        for (auto& t : workers)
            t.join();
        workers.clear();
    }

    // A worker's loop: receive, decide, answer; until stopped, or until no process is left
    // under the filter (the kernel says so with POLLHUP; some kernels then answer the ioctl
    // at once with ENOENT instead of waiting, which must not become a busy loop).
    void work() {
        running.fetch_add(1);
        sigset_t mask;
        sigfillset(&mask);
        sigdelset(&mask, kWakeSignal);
        ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
        while (!stopping) {
            seccomp_notif n{};
            if (notif_recv(listener.get(), &n) != 0) {
                if (errno == EINTR) continue;
                if (errno == ENOENT) { // the caller went away; or nobody is left
                    if (hung_up()) break;
                    continue;
                }
                log::error("socket bypass: receiving a notification: {}", std::strerror(errno));
                break;
            }
            handle(n);
        }
        running.fetch_sub(1);
    }

    bool hung_up() {
        pollfd p{listener.get(), POLLIN, 0};
        return ::poll(&p, 1, 0) == 1 && !(p.revents & POLLIN) &&
               (p.revents & (POLLHUP | POLLERR | POLLNVAL));
    }

    void handle(const seccomp_notif& n) {
        int refuse = 0;
        Call c;
        if (inspect(n, c, refuse)) {
            with_netns(std::move(c));
        } else if (refuse != 0) {
            reply(n.id, refuse);
        } else {
            pass(n.id);
        }
    }

    // Steps 1 and 2 (supervisor.hpp). True with `c` to go on with; else `refuse` is 0 (the
    // kernel carries on) or an errno to fail the call with. Reads from the caller (its memory,
    // its fd, /proc/TID) count only if the notification is still valid after the last of
    // them: then the thread was blocked in this connect() throughout, so its tid named it.
    bool inspect(const seccomp_notif& n, Call& c, int& refuse) {
        refuse = 0;
        const auto len = n.data.args[2];
        if (len < sizeof(sa_family_t) || len > sizeof(sockaddr_storage)) return false;
        std::array<uint8_t, sizeof(sockaddr_storage)> raw;
        iovec local{raw.data(), static_cast<size_t>(len)};
        iovec remote{reinterpret_cast<void*>(n.data.args[1]), static_cast<size_t>(len)};
        if (::process_vm_readv(static_cast<pid_t>(n.pid), &local, 1, &remote, 1, 0) !=
            static_cast<ssize_t>(len))
            return false;
        auto dst = parse_sockaddr({raw.data(), static_cast<size_t>(len)});
        if (!dst) return false; // AF_UNIX and friends; AF_UNSPEC only disconnects
        c.id = n.id;
        c.tid = static_cast<pid_t>(n.pid);
        c.fd = static_cast<int>(n.data.args[0]);
        c.dst = *dst;
        if (!copy_socket(c)) {
            if (errno != EMFILE && errno != ENFILE) return false; // gone; or EBADF, the kernel's
            // Out of fds: we cannot tell whether the socket is one of ours, so no.
            warn_fds();
            refuse = ENOBUFS;
            return false;
        }
        // Which namespace the socket is in (its cookie). The host's: natural for a caller that
        // lives there (--detach-netns), else a socket of ours, connected again after a failed
        // connect: the kernel would connect it, in the host's namespace, wherever the caller
        // asks. Refused, unless it is connecting, connected or listening (then the kernel
        // answers without the address).
        c.ns_key = netns_cookie(c.sock.get());
        if (c.ns_key == 0) return false;
        tcp_info ti{};
        socklen_t sl = sizeof ti;
        const bool tcp = ::getsockopt(c.sock.get(), IPPROTO_TCP, TCP_INFO, &ti, &sl) == 0;
        if (c.ns_key == host_cookie) {
            const uint64_t caller_ns = netns_inode_of(c.tid);
            if (caller_ns == 0 || caller_ns == host_key || !still_caller(n.id))
                return false; // gone, or the host's
            if (!tcp || ti.tcpi_state == TCP_CLOSE) refuse = ENETUNREACH;
            return false;
        }
        // (Only now: a socket of ours must be refused above wherever it connects to.)
        if (!tcp || ti.tcpi_state != TCP_CLOSE || dst->port == 0) return false;
        for (const auto& p : cfg.never)
            if (p.contains(dst->addr)) return false;
        int proto = 0;
        sl = sizeof proto;
        if (::getsockopt(c.sock.get(), SOL_SOCKET, SO_PROTOCOL, &proto, &sl) != 0 ||
            proto != IPPROTO_TCP) // MPTCP answers TCP_INFO too
            return false;
        sockaddr_storage bound{};
        sl = sizeof bound;
        if (::getsockname(c.sock.get(), reinterpret_cast<sockaddr*>(&bound), &sl) != 0 ||
            bound.ss_family != dst->socket_family)
            return false; // a family the kernel refuses itself
        if (bound.ss_family == AF_INET) {
            auto* b = reinterpret_cast<sockaddr_in*>(&bound);
            if (b->sin_addr.s_addr != htonl(INADDR_ANY)) return false; // chosen source
            c.bound_port = ntohs(b->sin_port);
        } else {
            auto* b = reinterpret_cast<sockaddr_in6*>(&bound);
            if (!IN6_IS_ADDR_UNSPECIFIED(&b->sin6_addr)) return false;
            c.bound_port = ntohs(b->sin6_port);
        }
        return true; // (the notification id is checked after the last read, in decide)
    }

    // Our copy of the caller's socket (pidfd_getfd), or false with errno: EMFILE/ENFILE when
    // we are out of fds even after letting go of what we keep.
    bool copy_socket(Call& c) {
        for (int attempt = 0; attempt < 2; ++attempt) {
            // (no pidfd: gone, or a thread whose fd table we cannot name; or out of fds)
            if (auto pidfd = pidfds.get(c.tid, thread_pidfd)) {
                c.sock = Fd(pidfd_getfd(pidfd->get(), c.fd));
                if (c.sock) return true;
                if (errno == ESRCH) { // a kept pidfd of a thread that died: its tid was reused
                    pidfds.forget(c.tid);
                    continue;
                }
            }
            if (errno != EMFILE && errno != ENFILE) return false;
            // What we can let go of: kept pidfds and idle namespaces' sockets.
            pidfds.clear();
            std::lock_guard lock(mu);
            netns.clear();
        }
        return false;
    }

    bool still_caller(__u64 id) { return notif_id_valid(listener.get(), id); }

    // Step 3's first half: the caller's namespace's routes, known or asked of the child.
    void with_netns(Call c) {
        if (!home_routes) return pass(c.id);
        if (c.ns_key == home_key) return decide(c, *home_routes);
        std::shared_ptr<NetnsRoutes> routes;
        {
            std::lock_guard lock(mu);
            if (auto it = netns.find(c.ns_key); it != netns.end()) {
                it->second.used = Clock::now();
                routes = it->second.routes;
            }
        }
        if (routes) return decide(c, *routes);
        if (!channel_open) return pass(c.id);
        const __u64 id = c.id;
        bool sent = false, fresh = false;
        {
            std::lock_guard lock(mu);
            auto [it, inserted] = waiting.try_emplace(c.ns_key);
            fresh = inserted;
            if (inserted) {
                Frame q{Tag::Query};
                q.key = c.ns_key;
                Fd ns(::ioctl(c.sock.get(), SIOCGSKNS));
                sent = ns && send_frame(channel.native_handle(), q, ns.get());
                if (!sent)
                    waiting.erase(it);
                else
                    it->second.deadline = Clock::now() + std::chrono::seconds(2);
            }
            if (!inserted || sent) {
                it->second.calls.push_back(std::move(c));
                sent = true;
            }
        }
        if (!sent) return pass(id);
        if (fresh) watcher.poke(); // the housekeeping lets them through after 2 s
    }

    // The child's answer (on the event loop): the waiting calls are decided here.
    void on_reply(const Frame& f, Fd nl) {
        std::vector<Call> calls;
        std::shared_ptr<NetnsRoutes> routes;
        {
            std::lock_guard lock(mu);
            auto it = waiting.find(f.key);
            if (it == waiting.end()) return; // late: its callers were let through already
            calls = std::move(it->second.calls);
            waiting.erase(it);
            if (f.err == 0 && nl) {
                routes = std::make_shared<NetnsRoutes>(std::move(nl));
                netns[f.key] = Netns{routes, Clock::now()};
            }
        }
        if (!routes)
            log::debug("socket bypass: no rtnetlink socket in netns {}: {}", f.key,
                       std::strerror(f.err));
        for (auto& c : calls)
            routes ? decide(c, *routes) : pass(c.id);
    }

    // Step 3's second half: the routes, the evidence, the fd flags.
    void decide(Call& c, NetnsRoutes& caller_routes) {
        auto not_bypassed = [&](const char* why, const Route& r) {
            log::debug("socket bypass: netns {}: {} (error {}, type {}, gateway {})", c.ns_key, why,
                       r.error, r.type, r.gateway);
            pass(c.id);
        };
        if (Route r = caller_routes.lookup(c.dst.addr); !outside(r))
            return not_bypassed("inside the caller's namespace", r);
        if (c.ns_key != home_key) {
            if (Route r = home_routes->lookup(c.dst.addr); !outside(r))
                return not_bypassed("inside the command's namespace", r);
        }
        if (host_routes) {
            Route h = host_routes->lookup(c.dst.addr);
            if (h.error != 0 || h.type == RTN_LOCAL) return not_bypassed("host-local", h);
        }
        // A namespace behind the home one (a container's) may be kept in by the home
        // namespace's packet filter, which routes do not show (Docker < 25 isolates --internal
        // networks that way): its connections to a destination are bypassed once one of them
        // got through the usual way.
        if (c.ns_key != home_key) {
            const Evidence e{c.ns_key, c.dst.addr};
            if (!ledger.reached(e)) watcher.settle_evidence(e);
            if (!ledger.reached(e)) {
                log::debug("socket bypass: netns {}: no connection there seen yet; watching",
                           c.ns_key);
                if (still_caller(c.id)) watcher.watch_evidence(e, std::move(c.sock));
                return pass(c.id);
            }
        }
        auto flags = read_fd_flags(c.tid, c.fd);
        if (!flags || !still_caller(c.id)) return pass(c.id);
        connect_from_host(c, *flags);
    }

    // --- step 4: our socket --------------------------------------------------------------
    void warn_fds() {
        std::lock_guard lock(mu);
        auto now = Clock::now();
        if (now - last_fd_warning < std::chrono::minutes(1)) return;
        last_fd_warning = now;
        log::warn("socket bypass: out of file descriptors; connections go the usual way "
                  "meanwhile");
    }

    void connect_from_host(const Call& c, FdFlags flags) {
        const int fam = c.dst.socket_family;
        if (!defaults.loaded(fam)) return pass(c.id);
        Fd s(::socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!s) {
            if (errno == EMFILE || errno == ENFILE) warn_fds();
            return pass(c.id);
        }
        if (defaults.carry(c.sock.get(), s.get(), fam, !flags.nonblock) != CarryResult::Carried)
            return pass(c.id);
        sockaddr_storage sa;
        if (c.bound_port != 0) {
            // The caller bound a port (on the unspecified address): the same port on ours.
            Destination any{fam, Address{fam, {}}, c.bound_port};
            socklen_t bl = to_sockaddr(any, sa);
            if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), bl) != 0) {
                log::debug("socket bypass: cannot bind port {} on the host ({}); not bypassed",
                           c.bound_port, std::strerror(errno));
                return pass(c.id);
            }
        }
        socklen_t sl = to_sockaddr(c.dst, sa);
        int err = ::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sl) == 0 ? 0 : errno;
        if (err != 0 && err != EINPROGRESS) {
            counters.failed.fetch_add(1, std::memory_order_relaxed);
            return reply(c.id, err);
        }
        // Over a veth pair or loopback the handshake is often over within our connect().
        auto p = tcp_progress(s.get());
        const Outcome o = p ? classify(*p, true) : Outcome::Pending;
        if (install(c, flags, s.get(), err, o)) account(std::move(s), o);
    }

    // Puts our socket at the caller's fd number. A non-blocking caller (or a connect that
    // finished at once) gets `result` now, and so does a blocking one whose handshake is over
    // (`o`): 0, as its own connect() would have returned before the server could close or
    // reset the connection (a reset then shows on the next read, not as connect()'s error).
    // Any other blocking caller's connect() goes on in the kernel (CONTINUE) on our socket:
    // already connecting, the kernel waits for it with the caller's SO_SNDTIMEO and signals and
    // returns its result, and reads no address (a connecting socket's connect() ignores it;
    // AF_UNSPEC would only disconnect it).
    //
    // ADDFD with SETFD replaces whatever is at the caller's fd number. The caller's thread is
    // blocked in connect() on it, but a sibling thread may have closed it and put another file
    // there meanwhile: the fd must still name the socket we copied (kcmp), right before. The
    // window left between that check and ADDFD is the program's own race (closing an fd
    // another thread is using), which the kernel does not order either. True once installed.
    bool install(const Call& c, FdFlags flags, int s, int result, Outcome o) {
        if (!flags.nonblock && ::fcntl(s, F_SETFL, 0) != 0) { // ours was made non-blocking
            pass(c.id);
            return false;
        }
        if (!same_file(c.tid, c.fd, c.sock.get())) {
            pass(c.id);
            return false;
        }
        if (notif_addfd(listener.get(), c.id, s, c.fd, flags.cloexec) < 0) {
            if (errno == ENOENT) return false; // the caller is gone
            if (errno == EMFILE) warn_fds();
            pass(c.id);
            return false;
        }
        if (result == EINPROGRESS && !flags.nonblock && o == Outcome::Established) {
            reply(c.id, 0);
        } else if (result == EINPROGRESS && !flags.nonblock) {
            seccomp_notif_resp r{};
            r.id = c.id;
            r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            notif_send(listener.get(), &r);
        } else {
            reply(c.id, result);
        }
        return true;
    }

    // After the caller has its answer: counted now, or once the watcher learns the outcome.
    void account(Fd s, Outcome o) {
        if (o == Outcome::Pending && watcher.watch_bypassed(std::move(s))) return;
        ++(o == Outcome::Failed ? counters.failed : counters.bypassed);
    }

    // --- housekeeping (the watcher's thread, about once a second) -------------------------
    // Lets through the calls whose query the child did not answer; closes rtnetlink sockets
    // unused for a while (each keeps its namespace alive). True while anything is left.
    bool housekeeping() {
        const auto now = Clock::now();
        std::vector<Call> late;
        bool left;
        {
            std::lock_guard lock(mu);
            for (auto it = waiting.begin(); it != waiting.end();) {
                if (now < it->second.deadline) {
                    ++it;
                    continue;
                }
                log::warn("socket bypass: the child did not answer for netns {} in 2 s", it->first);
                for (auto& c : it->second.calls)
                    late.push_back(std::move(c));
                it = waiting.erase(it);
            }
            for (auto it = netns.begin(); it != netns.end();)
                it = now - it->second.used > std::chrono::seconds(30) ? netns.erase(it) : ++it;
            left = !waiting.empty() || !netns.empty();
        }
        for (auto& c : late)
            pass(c.id);
        return left;
    }

    util::Status init() {
        host_key = netns_inode_of(::getpid());
        if (host_key == 0) return fail(util::sys_error("stat /proc/self/ns/net"));
        Fd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!probe || (host_cookie = netns_cookie(probe.get())) == 0)
            return fail(util::sys_error("socket bypass: SO_NETNS_COOKIE (Linux 5.14)"));
        if (cfg.disable_host_loopback) {
            Fd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
            if (!nl) return fail(util::sys_error("socket bypass: socket(AF_NETLINK)"));
            host_routes = std::make_unique<NetnsRoutes>(std::move(nl));
        }
        defaults.load(AF_INET);
        defaults.load(AF_INET6);
        thread_pidfd = probe_thread_pidfd();
        RK_TRY(watcher.start());
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
    const auto& c = impl_->counters;
    return {c.bypassed.load(), c.failed.load(), c.passed.load()};
}

} // namespace rk::bypass
