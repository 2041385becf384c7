// Purpose: the socket bypass's watcher thread (see watcher.hpp).
#include "bypass/watcher.hpp"

#include "util/log.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <linux/tcp.h> // struct tcp_info with the segment counts (glibc's lacks them)
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <vector>

namespace rk::bypass {
using util::Fd;
namespace log = util::log;

namespace {

// The kernel's TCP states (include/net/tcp_states.h), a stable ABI.
enum : unsigned {
    kEstablished = 1,
    kSynSent = 2,
    kSynRecv = 3,
    kClose = 7,
    kListen = 10,
};
constexpr auto kBypassedDeadline = std::chrono::seconds(30);
constexpr auto kEvidenceDeadline = std::chrono::seconds(10);
constexpr size_t kMaxWatches = 4096, kMaxEvidenceWatches = 64;
constexpr uint64_t kWakeId = 0;

} // namespace

std::optional<TcpProgress> tcp_progress(int sock) {
    // TCP_INFO loads the state before it takes the socket's lock and the counts after it, so
    // a read while the program's connect() holds that lock pairs the state from before
    // (CLOSE) with the counts from after the SYN (or the whole handshake): a connection under
    // way read as failed (seen under load: its container never earned the bypass). A CLOSE is
    // read again - the lock the first read waited for is released by then, so the state
    // loaded next is the one the counts belong to, or later.
    TcpProgress p;
    for (int i = 0; i < 2; ++i) {
        tcp_info ti{};
        socklen_t sl = sizeof ti;
        if (::getsockopt(sock, IPPROTO_TCP, TCP_INFO, &ti, &sl) != 0) return std::nullopt;
        // A kernel older than the counts (4.2) leaves them 0: the state alone decides then.
        p = TcpProgress{ti.tcpi_state, ti.tcpi_segs_in, ti.tcpi_segs_out};
        if (p.state != kClose) break;
    }
    return p;
}

Outcome classify(const TcpProgress& p, bool started) {
    switch (p.state) {
    case kSynSent:
    case kSynRecv:
        return Outcome::Pending;
    case kClose:
        // A SYN-ACK and then the server's reset: established, however briefly. A reset alone
        // (refused) is one segment; an ICMP error or a timeout none.
        if (p.segs_in >= 2) return Outcome::Established;
        // No SYN sent yet: the program's connect() has not run (we watch a connection left to
        // the kernel from before it starts) - or it blocked, failed and reset the counts.
        if (p.segs_out == 0 && !started) return Outcome::Pending;
        return Outcome::Failed;
    case kListen:
        return Outcome::Failed; // not a connection at all
    default:
        return p.state == 0 ? Outcome::Failed : Outcome::Established; // ESTABLISHED and later
    }
}

Watcher::Watcher(Counters& counters, EgressLedger& ledger, std::function<bool()> housekeeping)
    : counters_(counters), ledger_(ledger), housekeeping_(std::move(housekeeping)) {}

Watcher::~Watcher() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    poke();
    thread_.join();
}

util::Status Watcher::start() {
    epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
    wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!epoll_ || !wake_) return util::fail(util::sys_error("socket bypass: epoll/eventfd"));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
        return util::fail(util::sys_error("socket bypass: epoll_ctl"));
    thread_ = std::thread([this] { run(); });
    return {};
}

void Watcher::poke() {
    uint64_t one = 1;
    if (wake_) (void)!::write(wake_.get(), &one, sizeof one);
}

bool Watcher::add(Watch w) {
    std::lock_guard lock(mu_);
    if (watches_.size() >= kMaxWatches) return false;
    if (!w.bypassed && evidence_watches_ >= kMaxEvidenceWatches) return false;
    const uint64_t id = next_id_++;
    epoll_event ev{};
    // Edge-triggered: one wake-up per change of state (established, reset, error, closed).
    ev.events = EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, w.sock.get(), &ev) != 0) return false;
    const bool first = watches_.empty();
    if (!w.bypassed) ++evidence_watches_;
    watches_.emplace(id, std::move(w));
    if (first) poke(); // the thread may be waiting without a timeout
    return true;
}

bool Watcher::watch_bypassed(Fd sock) {
    return add(Watch{std::move(sock), true, {}, Clock::now() + kBypassedDeadline});
}

void Watcher::watch_evidence(const Evidence& e, Fd sock) {
    (void)add(Watch{std::move(sock), false, e, Clock::now() + kEvidenceDeadline});
}

void Watcher::settle_evidence(const Evidence& e) {
    std::lock_guard lock(mu_);
    if (evidence_watches_ == 0) return;
    std::vector<uint64_t> done;
    for (auto& [id, w] : watches_) {
        if (w.bypassed || !(w.evidence == e)) continue;
        auto p = tcp_progress(w.sock.get());
        if (p && classify(*p, false) == Outcome::Established) done.push_back(id);
    }
    for (uint64_t id : done)
        settle(id, Outcome::Established);
}

void Watcher::settle(uint64_t id, Outcome o) {
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    Watch& w = it->second;
    if (w.bypassed)
        ++(o == Outcome::Established ? counters_.bypassed : counters_.failed);
    else if (o == Outcome::Established)
        ledger_.record(w.evidence);
    if (!w.bypassed) --evidence_watches_;
    // Out of the set before the close: the program may still hold the socket open.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, w.sock.get(), nullptr);
    watches_.erase(it);
}

void Watcher::expire() {
    const auto now = Clock::now();
    for (auto it = watches_.begin(); it != watches_.end();) {
        auto next = std::next(it);
        if (now >= it->second.deadline) {
            auto p = tcp_progress(it->second.sock.get());
            Outcome o = p ? classify(*p, it->second.bypassed) : Outcome::Failed;
            settle(it->first, o == Outcome::Pending ? Outcome::Failed : o);
        }
        it = next;
    }
}

void Watcher::run() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, nullptr); // signals are the main thread's
    std::array<epoll_event, 64> evs;
    bool sweeping = false;
    auto last_sweep = Clock::now();
    while (!stopping_) {
        int timeout = -1;
        if (sweeping) {
            auto due = last_sweep + std::chrono::seconds(1) - Clock::now();
            timeout = static_cast<int>(
                std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(due).count()));
        }
        const int n = ::epoll_wait(epoll_.get(), evs.data(), static_cast<int>(evs.size()), timeout);
        if (n < 0 && errno != EINTR) {
            log::error("socket bypass: epoll_wait: {}", std::strerror(errno));
            return;
        }
        const auto now = Clock::now();
        const bool sweep_now = now - last_sweep >= std::chrono::seconds(1);
        bool watching;
        {
            std::lock_guard lock(mu_);
            for (int i = 0; i < n; ++i) {
                const uint64_t id = evs[static_cast<size_t>(i)].data.u64;
                if (id == kWakeId) {
                    uint64_t v;
                    (void)!::read(wake_.get(), &v, sizeof v);
                    continue;
                }
                auto it = watches_.find(id);
                if (it == watches_.end()) continue;
                auto p = tcp_progress(it->second.sock.get());
                Outcome o = p ? classify(*p, it->second.bypassed) : Outcome::Failed;
                if (o != Outcome::Pending) settle(id, o);
            }
            if (sweep_now) expire();
            watching = !watches_.empty();
        }
        // Outside mu_: the housekeeping takes the supervisor's lock, which is never held while
        // calling in here.
        if (sweep_now || !sweeping) {
            last_sweep = now;
            sweeping = housekeeping_() || watching;
        } else {
            sweeping = sweeping || watching;
        }
    }
}

} // namespace rk::bypass
