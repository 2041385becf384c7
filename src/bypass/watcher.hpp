// Purpose: the socket bypass's watcher: a thread that learns how connections still under way
// end, without touching them - bypassed ones (for the counters: established or failed) and
// containers' first connections to a destination, left to the kernel (evidence.hpp) - and
// does the supervisor's housekeeping once a second while there is any.
//
// Theory of Operation
//   Each watched connection is a reference of ours to the socket (our own, or our copy of the
//   caller's), registered edge-triggered with an epoll set the thread waits on. The kernel
//   wakes it when the handshake completes or fails, and then its outcome is read from TCP_INFO
//   (classify): never SO_ERROR, which would take the error from the program, and never a read.
//   An established connection the server closed or reset at once still counts as established
//   (it received more than the reset). Each reference delays the close of the program's socket
//   until the outcome is known (at most `deadline`), so a close right after connecting reaches
//   the peer a little late; a connection not settled by then counts as failed (bypassed) or
//   proves nothing (evidence).
#pragma once

#include "bypass/evidence.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace rk::bypass {

enum class Outcome {
    Pending,     // not started yet, or the handshake is under way
    Established, // the handshake completed (whatever happened since)
    Failed,      // refused, unreachable or timed out
};
// What TCP_INFO says of a connection's progress (the kernel's state numbers: 1 ESTABLISHED,
// 2 SYN_SENT, 7 CLOSE, ...; segments received and sent).
struct TcpProgress {
    unsigned state = 0;
    uint32_t segs_in = 0, segs_out = 0;
};
std::optional<TcpProgress> tcp_progress(int sock);
// `started`: a SYN is known to have been sent (our own connect). A blocking connect() that
// failed resets the counts (tcp_disconnect), so a closed socket with none may have failed or
// not have started yet; only time tells those apart. Pure, for tests.
Outcome classify(const TcpProgress& p, bool started);

// Counters of the bypass (supervisor.hpp's Stats), updated from several threads.
struct Counters {
    std::atomic<uint64_t> bypassed{0}, failed{0}, passed{0};
};

class Watcher {
  public:
    using Clock = std::chrono::steady_clock;
    // `housekeeping` runs on the watcher's thread about once a second while it returns true
    // (there is something to sweep) or a watch is open; poke() after adding to what it sweeps.
    Watcher(Counters& counters, EgressLedger& ledger, std::function<bool()> housekeeping);
    ~Watcher(); // stops the thread; open watches are dropped
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;

    util::Status start();
    // A bypassed connection of ours still connecting: counted as bypassed or failed later.
    // False if it cannot be watched (the caller counts it now).
    bool watch_bypassed(util::Fd sock);
    // A container's connection left to the kernel: recorded in the ledger once established.
    void watch_evidence(const Evidence& e, util::Fd sock);
    // Looks at the open watches for `e` now (the next connect from that namespace to that
    // destination must not depend on how soon this thread ran).
    void settle_evidence(const Evidence& e);
    void poke();

  private:
    struct Watch {
        util::Fd sock;
        bool bypassed; // else evidence
        Evidence evidence{};
        Clock::time_point deadline;
    };
    bool add(Watch w);
    void run();
    void settle(uint64_t id, Outcome o); // mu_ held
    void expire();                       // mu_ held

    Counters& counters_;
    EgressLedger& ledger_;
    std::function<bool()> housekeeping_;
    util::Fd epoll_, wake_;
    std::mutex mu_;
    std::unordered_map<uint64_t, Watch> watches_;
    size_t evidence_watches_ = 0;
    uint64_t next_id_ = 1;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

} // namespace rk::bypass
