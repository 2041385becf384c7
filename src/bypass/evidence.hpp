// Purpose: what the socket bypass remembers of containers' connections: the destinations a
// network namespace behind the command's own (a container's) has reached the usual way.
//
// Such a namespace may be kept in by the home namespace's packet filter, which routes do not
// show (Docker < 25 isolates --internal networks that way), so its connections to a destination
// are bypassed only once one of them got there without the bypass. Whether one got there is
// seen by the watcher (watcher.hpp) at the moment its handshake completes. Thread-safe.
#pragma once

#include "bypass/policy.hpp"

#include <cstdint>
#include <mutex>
#include <unordered_set>

namespace rk::bypass {

struct Evidence {
    uint64_t ns; // the namespace's cookie
    Address dst;
    bool operator==(const Evidence&) const = default;
};

class EgressLedger {
  public:
    // Whether a connection from e.ns to e.dst was seen established.
    bool reached(const Evidence& e) const {
        std::lock_guard lock(mu_);
        return egress_.contains(e);
    }
    void record(const Evidence& e) {
        std::lock_guard lock(mu_);
        if (egress_.size() >= 65536) egress_.clear();
        egress_.insert(e);
    }

  private:
    struct Hash {
        size_t operator()(const Evidence& e) const {
            return AddressHash()(e.dst) ^ (e.ns * 0x9e3779b97f4a7c15ULL);
        }
    };
    mutable std::mutex mu_;
    std::unordered_set<Evidence, Hash> egress_;
};

} // namespace rk::bypass
