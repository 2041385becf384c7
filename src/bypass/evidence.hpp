// Purpose: what the socket bypass remembers of containers' connections: the destinations a
// network namespace behind the command's own (a container's) has reached the usual way.
//
// Such a namespace may be kept in by the home namespace's packet filter, which routes do not
// show (Docker < 25 isolates --internal networks that way), so its connections to a destination
// are bypassed only once one of them got there without the bypass. A connection left to the
// kernel is watched through our copy of the caller's socket: established (any state past
// SYN_SENT) is evidence. Its state is read (TCP_INFO) when the next connect from that
// namespace to that destination comes and on each sweep - never through the event loop, which
// would make the caller's socket non-blocking, nor SO_ERROR, which would take the error from
// the caller. A refused or dropped connection proves nothing and is forgotten after 10 s.
#pragma once

#include "bypass/policy.hpp"
#include "util/fd.hpp"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <unordered_set>
#include <vector>

namespace rk::bypass {

struct Evidence {
    uint64_t ns; // the namespace's cookie
    Address dst;
    bool operator==(const Evidence&) const = default;
};

class EgressLedger {
  public:
    using Clock = std::chrono::steady_clock;

    // Whether `e` was seen established; looks at the watched connections for it first.
    bool reached(const Evidence& e);
    // Watches `sock` (our copy of a connection to e.dst left to the kernel). At most 64 at a
    // time; more are not watched.
    void watch(const Evidence& e, util::Fd sock);
    // Moves the watched connections that got through to the ledger; drops the decided ones.
    void sweep() { check(nullptr); }
    bool watching() const { return !watches_.empty(); }
    // Lets go of the watched sockets (out of fds).
    void drop_watches() { watches_.clear(); }

  private:
    void check(const Evidence* only);
    struct Hash {
        size_t operator()(const Evidence& e) const {
            uint64_t a, b;
            std::memcpy(&a, e.dst.bytes.data(), 8);
            std::memcpy(&b, e.dst.bytes.data() + 8, 8);
            return std::hash<uint64_t>()(e.ns ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b << 1));
        }
    };
    struct Watch {
        Evidence evidence;
        util::Fd sock;
        Clock::time_point deadline;
    };
    std::unordered_set<Evidence, Hash> egress_;
    std::vector<Watch> watches_;
};

} // namespace rk::bypass
