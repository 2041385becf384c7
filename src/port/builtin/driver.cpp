// Purpose: the builtin port driver, parent half (see driver.hpp).
//
// Theory of Operation
//   add(): validate, bind+listen with upstream's family rules, start accepting.
//   accept: a Flow is created for the client and gets a socket connected to the target inside
//   the namespace: a namespace socket (made by the child ahead of time, see dial.hpp) that we
//   connect here, or - for a client whose address the server must see, and for UDP - one the
//   child connects on request. The socket completes the Flow; on error the client is closed
//   (it sees an accepted, then closed, connection - as with upstream).
//   The bytes then move in the Flow (flow.hpp: splice through pooled pipes, half-close) or, for
//   UDP, the UdpFlow of the client's address; errors touch only that flow. remove() closes the
//   listener and every live flow of that port.
// Files: listener (host sockets), flow (the data path), dial (the channel to the child), and
// here the Port (accepting, per-port limits) and the driver (the spare-socket pool, add/remove).
#include "port/builtin/driver.hpp"

#include "port/builtin/dial.hpp"
#include "port/builtin/flow.hpp"
#include "port/listener.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <fcntl.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <map>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <unordered_map>

namespace rk::port::builtin {
namespace asio = boost::asio;
using Desc = asio::posix::stream_descriptor;
using util::fail;
using util::Fd;
using util::plain_error;

std::string host_gateway_ip() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return {};
    std::string ip;
    for (ifaddrs* i = list; i && ip.empty(); i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
        if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127) continue;
        char buf[INET_ADDRSTRLEN];
        if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) ip = buf;
    }
    ::freeifaddrs(list);
    return ip;
}

std::string dial_target(const PortSpec& s, const std::string& gw) {
    if (!s.child_ip.empty()) return s.child_ip;
    if (!s.parent_ip.empty() && s.parent_ip != "0.0.0.0" && s.parent_ip != gw) return s.parent_ip;
    return "127.0.0.1";
}

namespace {

class BuiltinDriver;

// A published port: its listener and its live flows.
class Port {
  public:
    Port(BuiltinDriver& d, asio::io_context& io, int id, PortSpec spec, DialRequest target)
        : driver_(d), id_(id), spec_(std::move(spec)), target_(target), listener_(io), sweep_(io),
          pause_(io), udp_(spec_.proto.rfind("udp", 0) == 0) {}
    util::Status start(Fd listener) {
        boost::system::error_code ec;
        listener_.assign(listener.get(), ec);
        if (ec) return fail(util::sys_error(ec.value(), "watching the listener"));
        (void)listener.release();
        if (!udp_) {
            accept();
            return {};
        }
        receive();
        sweep();
        return {};
    }
    void close() {
        boost::system::error_code ec;
        listener_.close(ec);
        sweep_.cancel();
        pause_.cancel();
        for (auto& w : flows_)
            if (auto f = w.lock()) f->close();
        flows_.clear();
        for (auto& [key, f] : udp_flows_)
            f->close();
        udp_flows_.clear();
    }
    const PortSpec& spec() const { return spec_; }
    int id() const { return id_; }

  private:
    static constexpr auto kUdpIdle = std::chrono::seconds(90);
    // Clients accepted per turn of the event loop (each also gets its connect inside). Measured
    // with 50 clients making a new connection per request (6 series of 8-10 alternating 5 s
    // runs): 8 gave a p99 latency 3-17% (median 12%) below 32 at the same or a higher rate; 16
    // about the same as 8; 1 and 2 no better than 32.
    static constexpr int kAcceptBatch = 8;
    // Datagrams received per turn of the event loop (each is one recvfrom and one send).
    static constexpr int kUdpBatch = 64;
    void accept();
    void accept_some();
    void pause_accepting(int err);
    void receive();
    void sweep();

    BuiltinDriver& driver_;
    int id_;
    PortSpec spec_; // as submitted: what list() shows
    // What every client of this port is connected to inside: resolved once, when the port is
    // added (the address the spec names, IPv4-mapped as IPv4, and the child port).
    DialRequest target_;
    Desc listener_;
    asio::steady_timer sweep_;
    // Out of fds (or kernel memory), or with too many clients waiting for their socket inside,
    // accepting pauses - clients wait in the listen backlog - for a delay that doubles from
    // kFirstPause up to kMaxPause while the shortage lasts.
    static constexpr auto kFirstPause = std::chrono::milliseconds(10);
    static constexpr auto kMaxPause = std::chrono::milliseconds(1000);
    asio::steady_timer pause_;
    std::chrono::milliseconds pause_for_{0}; // 0: not paused
    std::chrono::steady_clock::time_point last_warned_{};
    bool warned_udp_limit_ = false;
    bool udp_;
    std::vector<std::weak_ptr<Flow>> flows_;
    std::map<std::string, std::shared_ptr<UdpFlow>> udp_flows_; // key: client sockaddr bytes
    std::shared_ptr<char> alive_ = std::make_shared<char>();    // for posted work
    // TCP clients of this port waiting for their socket inside (shared with the dial
    // callbacks, which may outlive a removed port), and how many may wait before accepting
    // pauses for a moment.
    std::shared_ptr<size_t> dialing_ = std::make_shared<size_t>(0);
    static constexpr size_t kMaxDialing = 64;
    // UDP flows of this port (one backend socket, so one fd, each); a new client past the
    // limit evicts the least recently active flow.
    static constexpr size_t kMaxUdpFlows = 1024;
    void evict_udp_flow();
};

class BuiltinDriver final : public port::Driver {
  public:
    using Done = std::function<void(util::Result<Fd>)>;

    BuiltinDriver(asio::io_context& io, Fd dial, SourceIp source_ip)
        : io_(io), dial_(io, dial.release()), gateway_(host_gateway_ip()), source_ip_(source_ip) {
        read_replies();
    }
    ~BuiltinDriver() override {
        for (auto& [id, p] : ports_)
            p->close();
    }

    std::string name() const override { return "builtin"; }
    std::vector<std::string> protos() const override {
        return {"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6"};
    }
    std::map<std::string, std::string> extra() const override {
        if (source_ip_ != SourceIp::Preserve) return {};
        return {{"sourceIPTransparentBackend", kSourceIpBackend}};
    }

    util::Result<PortStatus> add(const PortSpec& spec) override {
        std::map<int, PortSpec> existing;
        for (const auto& [id, p] : ports_)
            existing.emplace(id, p->spec());
        RK_TRY(validate_port_spec(spec, existing, AnyParentPort::Allowed));
        if (spec.proto.rfind("sctp", 0) == 0)
            return fail(plain_error("unsupported port protocol " + spec.proto,
                                    "the builtin driver forwards tcp and udp"));
        PortSpec plain = with_plain_ipv4(spec);
        auto fd = RK_TRY(make_listener(plain));
        // ParentPort 0 (beyond upstream): the kernel chose a free port; the answer and
        // list-ports carry it, so a client never has to guess one that is free on the host.
        PortSpec bound = spec;
        if (spec.parent_port == 0) bound.parent_port = plain.parent_port = RK_TRY(local_port(fd));
        int type = spec.proto.rfind("udp", 0) == 0 ? SOCK_DGRAM : SOCK_STREAM;
        auto target = RK_TRY(make_request(0, type, dial_target(plain, gateway_), plain.child_port));
        int id = next_id_;
        auto p = std::make_unique<Port>(*this, io_, id, bound, target);
        RK_TRY(p->start(std::move(fd)));
        ++next_id_;
        if (type == SOCK_STREAM) refill(target.family);
        ports_.emplace(id, std::move(p));
        return PortStatus{id, bound};
    }

    util::Status remove(int id) override {
        auto it = ports_.find(id);
        if (it == ports_.end()) return fail(plain_error(fmt::format("unknown id: {}", id)));
        it->second->close();
        ports_.erase(it);
        return {};
    }

    std::vector<PortStatus> list() const override {
        std::vector<PortStatus> out;
        for (const auto& [id, p] : ports_)
            out.push_back({id, p->spec()});
        return out;
    }

    // A connected socket to a port's `target` inside the namespace for a client at `client`;
    // `done` gets it or an error. A TCP client whose address is preserved (and every UDP
    // client) is dialed by the child; any other TCP client gets a namespace socket connected
    // here.
    void dial(const DialRequest& target, const sockaddr_storage* client, Done done) {
        DialRequest req = target;
        req.seq = next_seq_++;
        const bool tcp = req.type == SOCK_STREAM;
        bool from_client =
            client && tcp && source_ip_ == SourceIp::Preserve && set_source(req, *client);
        if (tcp && !from_client) return connect_here(req, std::move(done));
        ask(req, [done = std::move(done)](util::Result<std::vector<Fd>> fds) {
            if (!fds) return done(fail(fds.error()));
            if (fds->size() != 1) return done(fail(util::sys_error(EPROTO, "dial")));
            if (auto st = make_nonblocking((*fds)[0].get()); !st) return done(fail(st.error()));
            done(std::move((*fds)[0]));
        });
    }

  private:
    using Reply = std::function<void(util::Result<std::vector<Fd>>)>;

    // Namespace sockets (see dial.hpp): unconnected TCP sockets the child made inside the
    // namespace, kept per family. A connect() on one is routed by the namespace it belongs to,
    // so the parent connects it itself - no round trip to the child per flow. The pool asks
    // for kPoolBatch more whenever fewer than kPoolLow are left; clients arriving while it is
    // empty wait for the child's answer.
    struct SocketPool {
        std::vector<Fd> spare;
        std::deque<Done> waiting;
        bool asking = false;
    };
    static constexpr size_t kPoolLow = 16;
    static constexpr size_t kPoolBatch = 32;
    static constexpr auto kPoolRetry = std::chrono::milliseconds(50);

    SocketPool& pool(int family) { return pools_[family == AF_INET6 ? 1 : 0]; }

    static util::Status make_nonblocking(int fd) {
        int fl = ::fcntl(fd, F_GETFL);
        if (fl < 0 || (!(fl & O_NONBLOCK) && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0))
            return fail(util::sys_error("fcntl O_NONBLOCK"));
        return {};
    }

    void take_socket(int family, Done done) {
        SocketPool& p = pool(family);
        if (!p.spare.empty()) {
            Fd fd = std::move(p.spare.back());
            p.spare.pop_back();
            refill(family);
            return done(std::move(fd));
        }
        p.waiting.push_back(std::move(done));
        refill(family);
    }

    void refill(int family) {
        SocketPool& p = pool(family);
        if (p.asking || p.spare.size() >= kPoolLow) return;
        p.asking = true;
        int want = static_cast<int>(std::min<size_t>(kPoolBatch + p.waiting.size(),
                                                     static_cast<size_t>(kMaxSocketsPerReply)));
        ask(make_sockets_request(next_seq_++, family, want),
            [this, family](util::Result<std::vector<Fd>> fds) {
                SocketPool& pl = pool(family);
                pl.asking = false;
                size_t usable = 0;
                if (fds) {
                    for (Fd& fd : *fds) {
                        // The child makes them non-blocking; this guards the event loop. What
                        // else a socket is, connect() checks.
                        if (!make_nonblocking(fd.get())) continue;
                        ++usable;
                        if (pl.waiting.empty()) {
                            pl.spare.push_back(std::move(fd));
                            continue;
                        }
                        Done w = std::move(pl.waiting.front());
                        pl.waiting.pop_front();
                        w(std::move(fd));
                    }
                }
                if (usable == 0) {
                    util::Error e =
                        fds ? util::sys_error(EPROTO, "namespace sockets") : fds.error();
                    util::log::debug("builtin port driver: {}", e.message());
                    if (short_of_resources(e.err) || e.err == ETIMEDOUT) {
                        // Out of fds here or in the child: closing flows free some; or the
                        // answer was lost (watch_deadlines). The waiting clients wait on, as
                        // in the listen backlog; ask again soon.
                        pl.asking = true;
                        auto t = std::make_shared<asio::steady_timer>(io_, kPoolRetry);
                        t->async_wait([this, t, family, alive = std::weak_ptr<char>(alive_)](
                                          boost::system::error_code ec) {
                            if (ec || alive.expired()) return;
                            pool(family).asking = false;
                            refill(family);
                        });
                        return;
                    }
                    // Every waiting client is closed; the next one asks again.
                    auto waiting = std::move(pl.waiting);
                    pl.waiting.clear();
                    for (Done& w : waiting)
                        w(fail(e));
                    return;
                }
                refill(family);
            });
    }

    // Connects a namespace socket to `req`'s target.
    void connect_here(const DialRequest& req, Done done) {
        take_socket(req.family, [this, req, done = std::move(done)](util::Result<Fd> sock) {
            if (!sock) return done(fail(sock.error()));
            sockaddr_storage ss{};
            socklen_t len = target_address(req, ss);
            auto* sa = reinterpret_cast<sockaddr*>(&ss);
            int fd = sock->get();
            if (::connect(fd, sa, len) == 0) return done(std::move(*sock));
            if (errno != EINPROGRESS) return done(fail(util::sys_error("connect")));
            // On loopback the handshake has usually completed inside connect(): asking again
            // says so (0), names the failure, or answers EALREADY while the SYN is still out.
            if (::connect(fd, sa, len) == 0 || errno == EISCONN) return done(std::move(*sock));
            if (errno != EALREADY && errno != EINPROGRESS)
                return done(fail(util::sys_error("connect")));
            auto pending = std::make_shared<Desc>(io_);
            boost::system::error_code aec;
            pending->assign(sock->get(), aec);
            if (aec) return done(fail(util::sys_error(aec.value(), "watching a connect")));
            (void)sock->release();
            pending->async_wait(Desc::wait_write, [pending, done](boost::system::error_code ec) {
                int err = ec ? ECANCELED : 0;
                socklen_t elen = sizeof err;
                if (!ec) ::getsockopt(pending->native_handle(), SOL_SOCKET, SO_ERROR, &err, &elen);
                Fd connected(pending->release());
                if (err != 0) return done(fail(util::sys_error(err, "connect")));
                done(std::move(connected));
            });
        });
    }

    // A reply the child owes for longer than this is taken as lost (a failed sendmsg there,
    // a bug): the request fails with ETIMEDOUT, so a client is closed instead of waiting
    // forever and the socket pool asks again. Sockets are made at once; a Connect may take
    // the child's own connect timeout (10 s) plus the 1 s source-address attempt.
    static constexpr auto kSocketsDeadline = std::chrono::seconds(3);
    static constexpr auto kConnectDeadline = std::chrono::seconds(15);

    void ask(const DialRequest& req, Reply reply) {
        auto deadline = std::chrono::steady_clock::now() +
                        (req.op == DialOp::Sockets ? kSocketsDeadline : kConnectDeadline);
        pending_.emplace(req.seq, Pending{std::move(reply), deadline});
        outbox_.push_back(req);
        flush();
        watch_deadlines();
    }

    // Runs while replies are owed: once a second, fails the requests past their deadline.
    void watch_deadlines() {
        if (watching_ || pending_.empty()) return;
        watching_ = true;
        deadlines_.expires_after(std::chrono::seconds(1));
        deadlines_.async_wait(
            [this, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
                if (ec || alive.expired()) return;
                watching_ = false;
                auto now = std::chrono::steady_clock::now();
                std::vector<uint32_t> late;
                for (const auto& [seq, p] : pending_)
                    if (p.deadline <= now) late.push_back(seq);
                if (!late.empty())
                    util::log::warn("builtin port driver: {} request(s) to the child went "
                                    "unanswered; giving up on them",
                                    late.size());
                for (uint32_t seq : late)
                    fail_pending(seq, util::sys_error(ETIMEDOUT, "no answer from the child"));
                watch_deadlines();
            });
    }

    void flush() {
        while (!outbox_.empty()) {
            ssize_t n = ::send(dial_.native_handle(), &outbox_.front(), sizeof(DialRequest),
                               MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                if (!flushing_) {
                    flushing_ = true;
                    dial_.async_wait(Desc::wait_write, [this](boost::system::error_code ec) {
                        // cancelled: the driver (this) may be gone; look at nothing of it
                        if (ec == asio::error::operation_aborted) return;
                        flushing_ = false;
                        if (!ec) flush();
                    });
                }
                return;
            }
            DialRequest req = outbox_.front();
            outbox_.pop_front();
            if (n < 0) fail_pending(req.seq, util::sys_error("cannot reach the child"));
        }
    }

    void fail_pending(uint32_t seq, util::Error e) {
        auto it = pending_.find(seq);
        if (it == pending_.end()) return;
        auto cb = std::move(it->second.reply);
        pending_.erase(it);
        cb(fail(std::move(e)));
    }

    void read_replies() {
        dial_.async_wait(Desc::wait_read, [this](boost::system::error_code ec) {
            if (ec) return;
            for (;;) {
                auto r = read_reply(dial_.native_handle());
                if (!r) {
                    if (r.error().err == EAGAIN) break;
                    util::log::debug("builtin port driver: {}", r.error().message());
                    if (r.error().err == 0) continue; // one malformed reply: skip it
                    return; // the child is gone; its exit ends everything soon
                }
                auto& [rep, fds] = *r;
                auto it = pending_.find(rep.seq);
                if (it == pending_.end()) continue; // given up on (its fds close here)
                auto cb = std::move(it->second.reply);
                pending_.erase(it);
                if (rep.err != 0 || fds.empty())
                    cb(fail(util::sys_error(rep.err ? rep.err : EPROTO, "dial")));
                else
                    cb(std::move(fds));
            }
            read_replies();
        });
    }

    asio::io_context& io_;
    Desc dial_;
    std::string gateway_;
    SourceIp source_ip_;
    std::map<int, std::unique_ptr<Port>> ports_;
    int next_id_ = 1;
    uint32_t next_seq_ = 1;
    struct Pending {
        Reply reply;
        std::chrono::steady_clock::time_point deadline;
    };
    std::unordered_map<uint32_t, Pending> pending_;
    asio::steady_timer deadlines_{io_};
    bool watching_ = false;
    std::deque<DialRequest> outbox_;
    SocketPool pools_[2]; // AF_INET, AF_INET6
    bool flushing_ = false;
    std::shared_ptr<PipePool> pipes_ = std::make_shared<PipePool>();
    std::shared_ptr<char> alive_ = std::make_shared<char>(); // for timers
    friend class Port;
};

void Port::accept() {
    listener_.async_wait(Desc::wait_read, [this](boost::system::error_code ec) {
        if (!ec) accept_some();
    });
}

// Accepts up to kAcceptBatch clients, then lets the rest of the ready work run before going
// on: every accept also connects inside the namespace, and a burst of clients must not stall
// the live flows.
void Port::accept_some() {
    if (!listener_.is_open()) return;
    std::erase_if(flows_, [](auto& w) { return w.expired(); });
    for (int i = 0; i < kAcceptBatch; ++i) {
        // Clients waiting for their socket inside hold an fd each and more would not be
        // served sooner: past kMaxDialing, new ones wait in the listen backlog. Counted per
        // port, so a port whose server stalls (a full accept queue, a paused container) costs
        // only its own clients.
        if (*dialing_ >= kMaxDialing) return pause_accepting(0);
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        Fd client(::accept4(listener_.native_handle(), reinterpret_cast<sockaddr*>(&peer),
                            &peer_len, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!client) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (short_of_resources(errno)) return pause_accepting(errno);
            if (errno != EAGAIN)
                util::log::warn("accept on port {}: {}", id_, std::strerror(errno));
            return accept(); // drained: wait for the next client
        }
        if (pause_for_.count() != 0) {
            pause_for_ = {};
            util::log::debug("port {}: accepting clients again", id_);
        }
        if (is_loopback(peer)) use_local_congestion_control(client.get());
        auto flow = std::make_shared<Flow>(driver_.io_, std::move(client), driver_.pipes_);
        flows_.push_back(flow);
        ++*dialing_;
        driver_.dial(target_, &peer, [flow, dialing = dialing_](util::Result<Fd> backend) {
            --*dialing;
            if (flow->closed()) return;
            if (!backend) {
                util::log::debug("builtin: {}", backend.error().message());
                return flow->close(); // the client sees accept + close, as upstream
            }
            if (auto st = flow->start(std::move(*backend)); !st) flow->close();
        });
    }
    asio::post(driver_.io_, [this, alive = std::weak_ptr<char>(alive_)] {
        if (!alive.expired()) accept_some();
    });
}

// Out of fds (`err`), retrying at once would spin (the listener stays readable) and log
// without end: warn, give back the spare pipes, try again later - flows closing meanwhile
// free what the next accept needs. With `err` 0 the driver has kMaxDialing clients waiting
// for their socket inside: just wait a little.
void Port::pause_accepting(int err) {
    // At the limit every close lets one client in and the next accept fails again: warn at
    // most once a minute.
    auto now = std::chrono::steady_clock::now();
    bool quiet = last_warned_ != decltype(now){} && now - last_warned_ < std::chrono::minutes(1);
    if (err != 0 && !quiet) {
        const char* fix = err == EMFILE   ? " (raise the open files limit: ulimit -n)"
                          : err == ENFILE ? " (the system's limit, fs.file-max, is reached)"
                                          : "";
        util::log::warn("port {}: cannot accept clients: {}; they wait until connections close{}",
                        id_, std::strerror(err), fix);
        last_warned_ = now;
    }
    if (err != 0) driver_.pipes_->trim();
    pause_for_ = pause_for_.count() == 0 ? kFirstPause : std::min(pause_for_ * 2, kMaxPause);
    pause_.expires_after(pause_for_);
    pause_.async_wait([this, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
        if (!ec && !alive.expired()) accept_some();
    });
}

// UDP: one flow per client address; the first datagram asks the child for a connected socket
// (datagrams arriving meanwhile are queued), replies go back with sendto().
void Port::receive() {
    listener_.async_wait(Desc::wait_read, [this](boost::system::error_code ec) {
        if (ec) return;
        char buf[65536];
        // At most kUdpBatch datagrams per turn, as accepts are capped: a flood on one port
        // must not keep the event loop (other ports, the API) from its other work.
        for (int i = 0; i < kUdpBatch; ++i) {
            sockaddr_storage from{};
            socklen_t len = sizeof from;
            ssize_t n = ::recvfrom(listener_.native_handle(), buf, sizeof buf, MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0) {
                if (errno == EINTR) continue;
                break;
            }
            std::string key(reinterpret_cast<const char*>(&from), len);
            auto it = udp_flows_.find(key);
            if (it == udp_flows_.end() || it->second->closed()) {
                if (it == udp_flows_.end() && udp_flows_.size() >= kMaxUdpFlows) evict_udp_flow();
                auto flow =
                    std::make_shared<UdpFlow>(driver_.io_, listener_.native_handle(), from, len);
                udp_flows_[key] = flow;
                driver_.dial(target_, nullptr, [flow](util::Result<Fd> backend) {
                    if (flow->closed()) return;
                    if (!backend) {
                        util::log::debug("builtin udp: {}", backend.error().message());
                        return flow->close();
                    }
                    flow->start(std::move(*backend));
                });
                it = udp_flows_.find(key);
            }
            it->second->send(buf, static_cast<size_t>(n));
        }
        receive();
    });
}

// Makes room for a new UDP client: drops the closed flows, or else the least recently active
// one (a flood of new source addresses then costs at most kMaxUdpFlows fds, and the busiest
// clients keep theirs).
void Port::evict_udp_flow() {
    if (std::erase_if(udp_flows_, [](auto& kv) { return kv.second->closed(); }) > 0) return;
    auto lru = std::min_element(udp_flows_.begin(), udp_flows_.end(), [](auto& a, auto& b) {
        return a.second->last_active() < b.second->last_active();
    });
    if (lru == udp_flows_.end()) return;
    if (!warned_udp_limit_) {
        util::log::warn("port {}: more than {} UDP clients at once; the least recently active "
                        "ones are dropped",
                        id_, kMaxUdpFlows);
        warned_udp_limit_ = true;
    }
    lru->second->close();
    udp_flows_.erase(lru);
}

// Closes UDP flows idle for 90 s (upstream's timeout).
void Port::sweep() {
    sweep_.expires_after(std::chrono::seconds(5));
    sweep_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        auto now = std::chrono::steady_clock::now();
        std::erase_if(udp_flows_, [&](auto& kv) {
            if (!kv.second->closed() && now - kv.second->last_active() < kUdpIdle) return false;
            kv.second->close();
            return true;
        });
        sweep();
    });
}

} // namespace

std::unique_ptr<port::Driver> make_driver(asio::io_context& io, Fd dial_sock, SourceIp source_ip) {
    return std::make_unique<BuiltinDriver>(io, std::move(dial_sock), source_ip);
}

} // namespace rk::port::builtin
