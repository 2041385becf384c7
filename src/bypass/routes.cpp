// Purpose: route lookups in one network namespace, remembered until it changes (routes.hpp).
#include "bypass/routes.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace rk::bypass {

namespace {

// What a lookup's answer may depend on.
constexpr unsigned kGroups[] = {RTNLGRP_LINK,       RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,  RTNLGRP_IPV4_RULE,
                                RTNLGRP_IPV6_RULE};
constexpr size_t kMaxRemembered = 4096;

} // namespace

NetnsRoutes::NetnsRoutes(util::Fd nl) : nl_(std::move(nl)) {
    // A port id is given at bind (or first send): replies are told apart by it.
    sockaddr_nl self{};
    self.nl_family = AF_NETLINK;
    (void)::bind(nl_.get(), reinterpret_cast<sockaddr*>(&self), sizeof self); // EINVAL: bound
    socklen_t sl = sizeof self;
    if (::getsockname(nl_.get(), reinterpret_cast<sockaddr*>(&self), &sl) == 0)
        portid_ = self.nl_pid;
    bool ok = portid_ != 0;
    for (unsigned g : kGroups)
        ok = ok && ::setsockopt(nl_.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) == 0;
    subscribed_ = ok;
}

uint64_t NetnsRoutes::lookups() const {
    std::lock_guard lock(mu_);
    return lookups_;
}

NetnsRoutes::Drained NetnsRoutes::drain(uint32_t seq) {
    Drained d;
    std::array<uint8_t, 8192> buf;
    for (int i = 0; i < 1024; ++i) {
        ssize_t n = ::recv(nl_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0 && errno == ENOBUFS) { // notifications were lost: anything may have changed
            cache_.clear();
            d.changed_after_reply = d.reply.has_value();
            continue;
        }
        if (n <= 0) break; // EAGAIN: nothing more queued
        std::span<const uint8_t> bytes(buf.data(), static_cast<size_t>(n));
        if (seq != 0 && !d.reply && (d.reply = parse_route_reply(bytes, seq, portid_))) continue;
        // A change notification (or a stale reply: harmless to forget what we know).
        cache_.clear();
        d.changed_after_reply = d.reply.has_value();
    }
    return d;
}

NetnsRoutes::Drained NetnsRoutes::ask_kernel(const Address& dst) {
    ++lookups_;
    if (++seq_ == 0) seq_ = 1;
    auto req = route_request(dst, seq_);
    if (::send(nl_.get(), req.data(), req.size(), MSG_DONTWAIT) != static_cast<ssize_t>(req.size()))
        return {};
    // rtnetlink answers RTM_GETROUTE within send(): the reply is queued by now, behind any
    // notification that came first.
    return drain(seq_);
}

Route NetnsRoutes::lookup(const Address& dst) {
    std::lock_guard lock(mu_);
    if (!subscribed_) return ask_kernel(dst).reply.value_or(Route{EIO});
    drain(0);
    if (auto it = cache_.find(dst); it != cache_.end()) return it->second;
    auto d = ask_kernel(dst);
    if (!d.reply || d.reply->error == EIO) return Route{EIO}; // no answer: ask again next time
    // A change behind the reply: the answer was right when given, but not to be remembered.
    if (d.changed_after_reply) return *d.reply;
    if (cache_.size() >= kMaxRemembered) cache_.clear();
    cache_.emplace(dst, *d.reply);
    return *d.reply;
}

} // namespace rk::bypass
