// Purpose: the socket bypass's route lookups in one network namespace, through an rtnetlink
// socket made there (by the child, netns_service.hpp), with their answers remembered until the
// namespace's routes, addresses, rules or links change.
//
// Theory of Operation
//   The socket is subscribed to the namespace's change notifications (links, IPv4/IPv6
//   addresses, routes and rules: groups rtnetlink lets any process join). A notification is
//   queued on the socket within the syscall that made the change, so before each answer is
//   used the socket is read without waiting: anything queued there but our own reply drops
//   every remembered answer, as does an overrun (ENOBUFS: some notifications were lost). So a
//   connect() that follows a change, whoever made it, never sees an answer from before it,
//   and a repeated destination costs one recv() that finds nothing instead of a lookup's
//   send() and recv(). A socket that cannot be subscribed looks every destination up.
//   Thread-safe: the workers of the supervisor share one per namespace.
#pragma once

#include "bypass/policy.hpp"
#include "util/fd.hpp"

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace rk::bypass {

class NetnsRoutes {
  public:
    // `nl`: an rtnetlink socket (NETLINK_ROUTE) in the namespace.
    explicit NetnsRoutes(util::Fd nl);

    // The route to `dst` in the namespace: remembered, or looked up. Route{EIO} when the
    // kernel did not answer.
    Route lookup(const Address& dst);

    bool caching() const { return subscribed_; }
    // Lookups that went to the kernel and answers served from memory (for tests and bench).
    uint64_t lookups() const;

  private:
    // Reads what is queued without waiting; drops the cache if anything but the reply to
    // `seq` (when nonzero) came. Returns the reply to `seq` if it was among them.
    struct Drained {
        std::optional<Route> reply;
        bool changed_after_reply = false; // a change came behind the reply
    };
    Drained drain(uint32_t seq);
    // One RTM_GETROUTE and its reply (none: Route{EIO} not given).
    Drained ask_kernel(const Address& dst);

    mutable std::mutex mu_;
    util::Fd nl_;
    uint32_t portid_ = 0; // our end's netlink port id: replies to us carry it
    uint32_t seq_ = 0;
    bool subscribed_ = false;
    uint64_t lookups_ = 0;
    std::unordered_map<Address, Route, AddressHash> cache_;
};

} // namespace rk::bypass
