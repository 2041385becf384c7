// Purpose: destinations containers reached the usual way (see evidence.hpp).
#include "bypass/evidence.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace rk::bypass {

bool EgressLedger::reached(const Evidence& e) {
    if (egress_.contains(e)) return true;
    check(&e);
    return egress_.contains(e);
}

void EgressLedger::watch(const Evidence& e, util::Fd sock) {
    if (watches_.size() >= 64 || !sock) return;
    watches_.push_back({e, std::move(sock), Clock::now() + std::chrono::seconds(10)});
}

void EgressLedger::check(const Evidence* only) {
    const auto now = Clock::now();
    for (auto it = watches_.begin(); it != watches_.end();) {
        if (only && !(it->evidence == *only)) {
            ++it;
            continue;
        }
        tcp_info ti{};
        socklen_t sl = sizeof ti;
        bool done = now >= it->deadline;
        if (::getsockopt(it->sock.get(), IPPROTO_TCP, TCP_INFO, &ti, &sl) != 0 ||
            ti.tcpi_state == TCP_CLOSE) {
            done = true;
        } else if (ti.tcpi_state != TCP_SYN_SENT) {
            if (egress_.size() >= 65536) egress_.clear();
            egress_.insert(it->evidence);
            done = true;
        }
        it = done ? watches_.erase(it) : std::next(it);
    }
}

} // namespace rk::bypass
