// Purpose: libslirp's event loop (see stack.hpp).
#include "netd/stack.hpp"

#include "sys/syscalls.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <slirp/libslirp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rk::netd {
using util::fail;
using util::plain_error;

namespace {

constexpr size_t kMaxFrame = 65536 + 14;
constexpr int kFramesPerWakeup = 64;

int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

Stack* self(void* opaque) {
    return static_cast<Stack*>(opaque);
}

short to_poll(int ev) {
    short r = 0;
    if (ev & SLIRP_POLL_IN) r |= POLLIN;
    if (ev & SLIRP_POLL_OUT) r |= POLLOUT;
    if (ev & SLIRP_POLL_PRI) r |= POLLPRI;
    if (ev & SLIRP_POLL_ERR) r |= POLLERR;
    if (ev & SLIRP_POLL_HUP) r |= POLLHUP;
    return r;
}

int from_poll(short ev) {
    int r = 0;
    if (ev & POLLIN) r |= SLIRP_POLL_IN;
    if (ev & POLLOUT) r |= SLIRP_POLL_OUT;
    if (ev & POLLPRI) r |= SLIRP_POLL_PRI;
    if (ev & POLLERR) r |= SLIRP_POLL_ERR;
    if (ev & POLLHUP) r |= SLIRP_POLL_HUP;
    return r;
}

const SlirpCb kCallbacks = [] {
    SlirpCb cb{};
    cb.send_packet = [](const void* buf, size_t len, void* o) {
        return self(o)->send_frame(buf, len);
    };
    cb.guest_error = [](const char* msg, void*) {
        std::fprintf(stderr, "rootlesskit-netd: guest error: %s\n", msg);
    };
    cb.clock_get_ns = [](void*) { return now_ns(); };
    cb.timer_free = [](void* t, void* o) {
        auto& v = self(o)->timers;
        for (auto it = v.begin(); it != v.end(); ++it)
            if (it->get() == t) {
                v.erase(it);
                return;
            }
    };
    cb.timer_mod = [](void* t, int64_t expire_ms, void*) {
        static_cast<Stack::Timer*>(t)->expire_ms = expire_ms;
    };
    cb.register_poll_fd = [](int, void*) {};
    cb.unregister_poll_fd = [](int, void*) {};
    cb.notify = [](void*) {};
    cb.timer_new_opaque = [](SlirpTimerId id, void* cb_opaque, void* o) -> void* {
        auto t = std::make_unique<Stack::Timer>(Stack::Timer{static_cast<int>(id), cb_opaque});
        void* p = t.get();
        self(o)->timers.push_back(std::move(t));
        return p;
    };
    return cb;
}();

in_addr plus(in_addr net, uint32_t n) {
    in_addr a{};
    a.s_addr = htonl(ntohl(net.s_addr) + n);
    return a;
}

} // namespace

util::Result<std::unique_ptr<Stack>> Stack::create(const Config& cfg, util::Fd tap, util::Fd api) {
    std::unique_ptr<Stack> s(new Stack(std::move(tap), std::move(api)));
    ::fcntl(s->tap_.get(), F_SETFL, O_NONBLOCK);
    SlirpConfig sc{};
    sc.version = 4;
    sc.restricted = 0;
    sc.in_enabled = true;
    sc.vnetwork = cfg.network;
    sc.vnetmask.s_addr = htonl(~uint32_t{0} << (32 - cfg.prefix));
    sc.vhost = plus(cfg.network, 1);        // gateway; the host's loopback behind it
    sc.vdhcp_start = plus(cfg.network, 15); // (DHCP is off: the child configures itself)
    sc.vnameserver = plus(cfg.network, 3);  // seen by the namespace at .1 (rewrite.hpp)
    // IPv6 (--ipv6) with slirp4netns' plan: the namespace takes an fd00::/64 address from
    // libslirp's router advertisements; fd00::2 is the host's loopback (unless
    // --disable-host-loopback), fd00::3 the DNS server (no alias needed: nothing else
    // claims that address).
    sc.in6_enabled = cfg.ipv6;
    if (cfg.ipv6) {
        ::inet_pton(AF_INET6, "fd00::", &sc.vprefix_addr6);
        sc.vprefix_len = 64;
        ::inet_pton(AF_INET6, "fd00::2", &sc.vhost6);
        ::inet_pton(AF_INET6, "fd00::3", &sc.vnameserver6);
    }
    sc.if_mtu = cfg.mtu;
    sc.if_mru = cfg.mtu;
    sc.disable_host_loopback = cfg.disable_host_loopback;
    sc.enable_emu = false;
    sc.disable_dhcp = true;
    s->dns_ = {sc.vhost.s_addr, sc.vnameserver.s_addr};
    s->slirp_ = slirp_new(&sc, &kCallbacks, s.get());
    if (!s->slirp_) return fail(plain_error("libslirp refused the configuration"));
    s->buf_.resize(kMaxFrame);
    return s;
}

Stack::~Stack() {
    if (slirp_) slirp_cleanup(slirp_);
}

ssize_t Stack::send_frame(const void* buf, size_t len) {
    // libslirp's buffer is const; the rewrite needs a copy for DNS replies only.
    const auto* b = static_cast<const uint8_t*>(buf);
    std::vector<uint8_t> copy;
    if (len >= 14 + 20 && std::memcmp(b + 14 + 12, &dns_.real, 4) == 0) {
        copy.assign(b, b + len);
        if (rewrite_inbound(copy, dns_)) b = copy.data();
    }
    ssize_t n = sys::retry_eintr([&] { return ::write(tap_.get(), b, len); });
    // A full tap queue drops the frame; TCP inside retransmits.
    if (n < 0 && errno == EAGAIN) return static_cast<ssize_t>(len);
    return n;
}

int Stack::add_poll(int fd, int events) {
    pfds_.push_back({fd, to_poll(events), 0});
    return static_cast<int>(pfds_.size() - 1);
}

int Stack::revents(int idx) const {
    if (idx < 0 || static_cast<size_t>(idx) >= pfds_.size()) return 0;
    return from_poll(pfds_[static_cast<size_t>(idx)].revents);
}

int Stack::add(const Forward& f) {
    errno = 0;
    int rc = slirp_add_hostfwd(slirp_, f.udp, f.host, f.host_port, f.guest, f.guest_port);
    return rc < 0 ? -(errno ? errno : EADDRINUSE) : 0;
}

int Stack::remove(const Forward& f) {
    return slirp_remove_hostfwd(slirp_, f.udp, f.host, f.host_port);
}

void Stack::read_tap() {
    for (int i = 0; i < kFramesPerWakeup; ++i) {
        ssize_t n = ::read(tap_.get(), buf_.data(), buf_.size());
        if (n <= 0) return;
        std::span<uint8_t> frame(buf_.data(), static_cast<size_t>(n));
        rewrite_outbound(frame, dns_);
        slirp_input(slirp_, buf_.data(), static_cast<int>(n));
    }
}

void Stack::accept_api() {
    util::Fd c(::accept4(api_sock_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!c) return;
    if (api_clients_.size() >= kMaxApiClients) api_clients_.erase(api_clients_.begin()); // oldest
    api_clients_.push_back({std::move(c), {}, {}, 0, false, now_ns() / 1000000 + kApiDeadlineMs});
}

bool Stack::serve_api(ApiClient& c, short revents) {
    if (!c.replying) {
        if (!(revents & (POLLIN | POLLHUP | POLLERR))) return true;
        char b[4096];
        for (;;) {
            ssize_t n = ::read(c.fd.get(), b, sizeof b);
            if (n < 0) return errno == EAGAIN || errno == EINTR;
            if (n == 0) break; // the whole request
            c.req.append(b, static_cast<size_t>(n));
            if (c.req.size() > kMaxApiRequest) return false; // not from our parent
        }
        c.reply = api_.handle(c.req);
        c.replying = true;
        revents = POLLOUT; // try at once: the reply usually fits the socket buffer
    }
    if (!(revents & (POLLOUT | POLLHUP | POLLERR))) return true;
    while (c.sent < c.reply.size()) {
        ssize_t n = ::send(c.fd.get(), c.reply.data() + c.sent, c.reply.size() - c.sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) return errno == EAGAIN || errno == EINTR;
        c.sent += static_cast<size_t>(n);
    }
    return false;
}

int64_t Stack::run_timers() {
    int64_t now = now_ns() / 1000000, next = -1;
    // A timer callback may modify timers: iterate over a snapshot of the due ones.
    std::vector<Timer> due;
    for (auto& t : timers) {
        if (t->expire_ms < 0) continue;
        if (t->expire_ms <= now) {
            due.push_back(*t);
            t->expire_ms = -1;
        } else if (next < 0 || t->expire_ms - now < next) {
            next = t->expire_ms - now;
        }
    }
    for (const auto& t : due)
        slirp_handle_timer(slirp_, static_cast<SlirpTimerId>(t.id), t.cb_opaque);
    return due.empty() ? next : 0;
}

int Stack::run() {
    for (;;) {
        pfds_.clear();
        pfds_.push_back({tap_.get(), POLLIN, 0});
        if (api_sock_) pfds_.push_back({api_sock_.get(), POLLIN, 0});
        const size_t first_client = pfds_.size();
        int64_t now_ms = now_ns() / 1000000, next_deadline = -1;
        for (const auto& c : api_clients_) {
            pfds_.push_back({c.fd.get(), static_cast<short>(c.replying ? POLLOUT : POLLIN), 0});
            int64_t left = std::max<int64_t>(0, c.deadline_ms - now_ms);
            if (next_deadline < 0 || left < next_deadline) next_deadline = left;
        }
        uint32_t timeout = 1000;
        slirp_pollfds_fill(
            slirp_, &timeout, [](int fd, int ev, void* o) { return self(o)->add_poll(fd, ev); },
            this);
        int64_t t = run_timers();
        if (t >= 0 && t < timeout) timeout = static_cast<uint32_t>(t);
        if (next_deadline >= 0 && next_deadline < timeout)
            timeout = static_cast<uint32_t>(next_deadline);
        int n = ::poll(pfds_.data(), pfds_.size(), static_cast<int>(timeout));
        if (n < 0 && errno != EINTR) return 1;
        short tap_ev = pfds_[0].revents;
        bool api_ev = api_sock_ && pfds_[1].revents;
        slirp_pollfds_poll(
            slirp_, n < 0, [](int idx, void* o) { return self(o)->revents(idx); }, this);
        if (tap_ev & (POLLHUP | POLLERR | POLLNVAL)) return 0; // the device is gone
        if (tap_ev & POLLIN) read_tap();
        // The API's clients: each moved on by what poll saw; done, failed or late ones go.
        now_ms = now_ns() / 1000000;
        size_t i = 0;
        std::erase_if(api_clients_, [&](ApiClient& c) {
            short ev = n > 0 ? pfds_[first_client + i].revents : 0;
            ++i;
            return !serve_api(c, ev) || now_ms >= c.deadline_ms;
        });
        if (api_ev) accept_api();
    }
}

} // namespace rk::netd
