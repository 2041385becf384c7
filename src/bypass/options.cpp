// Purpose: the options carried to a bypassed connection's socket (see options.hpp).
#include "bypass/options.hpp"

#include "util/fd.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>

namespace rk::bypass {
namespace log = util::log;

namespace {

bool get_option(int fd, const CarriedOption& o, OptionValue& v) {
    v.len = sizeof v.bytes;
    return ::getsockopt(fd, o.level, o.name, v.bytes.data(), &v.len) == 0;
}

bool applies(const CarriedOption& o, int family) {
    return o.family == 0 || o.family == family;
}

bool is(const CarriedOption& o, int level, int name) {
    return o.level == level && o.name == name;
}

int as_int(const OptionValue& v) {
    int n = 0;
    if (v.len == sizeof n) std::memcpy(&n, v.bytes.data(), sizeof n);
    return n;
}

// The kernel's own start values of the buffer sizes (tcp_wmem[1], tcp_rmem[1]): a namespace
// made by the command has these even when the host's are tuned, and carrying them would turn
// off buffer autotuning on our socket.
bool kernel_default_buffer(const CarriedOption& o, const OptionValue& v) {
    return (is(o, SOL_SOCKET, SO_SNDBUF) && as_int(v) == 16384) ||
           (is(o, SOL_SOCKET, SO_RCVBUF) && as_int(v) == 131072);
}

} // namespace

bool OptionDefaults::load(int family) {
    util::Fd s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return false; // e.g. no IPv6 on this host: IPv6 connects are not bypassed
    auto& d = family == AF_INET ? v4_ : v6_;
    for (size_t i = 0; i < kCarriedCount; ++i)
        if (applies(kCarried[i], family)) get_option(s.get(), kCarried[i], d[i]);
    (family == AF_INET ? have4_ : have6_) = true;
    return true;
}

CarryResult OptionDefaults::carry(int from, int to, int family, bool blocking) const {
    const auto& defaults = family == AF_INET ? v4_ : v6_;
    bool keepalive = false;
    for (size_t i = 0; i < kCarriedCount; ++i) {
        const auto& o = kCarried[i];
        if (!applies(o, family) || (o.needs_keepalive && !keepalive)) continue;
        OptionValue v;
        if (!get_option(from, o, v)) continue;
        if (is(o, SOL_SOCKET, SO_KEEPALIVE)) keepalive = as_int(v) != 0;
        const bool unchanged = v == defaults[i];
        // A blocking connect with a send timeout: when it runs out the kernel says EINPROGRESS
        // for a connect it started, EALREADY for one it found under way (ours, continued by
        // the kernel): such callers take the usual path.
        if (is(o, SOL_SOCKET, SO_SNDTIMEO) && blocking && !unchanged)
            return CarryResult::BlockingWithTimeout;
        if (unchanged || kernel_default_buffer(o, v)) continue;
        if (is(o, SOL_SOCKET, SO_SNDBUF) || is(o, SOL_SOCKET, SO_RCVBUF)) {
            int n = as_int(v) / 2; // the kernel doubles what was set
            std::memcpy(v.bytes.data(), &n, sizeof n);
        }
        if (::setsockopt(to, o.level, o.name, v.bytes.data(), v.len) != 0) {
            log::debug("socket bypass: option {}/{} not carried ({}); not bypassed", o.level,
                       o.name, std::strerror(errno));
            return CarryResult::Refused;
        }
    }
    return CarryResult::Carried;
}

} // namespace rk::bypass
