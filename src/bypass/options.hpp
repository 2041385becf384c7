// Purpose: the socket options carried from the caller's socket to the one the bypass makes on
// the host: which ones, which values count as "unchanged", and the copy itself.
//
// Only those that matter before and at connect() time, or that programs set before connecting
// (timeouts, buffers), and only where the caller's value differs from a fresh socket's: each
// costs a getsockopt per bypassed connect, so rare ones (priority, TTL, congestion control,
// MSS) are not carried, and the keepalive timers are read only when SO_KEEPALIVE is on.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace rk::bypass {

struct CarriedOption {
    int family; // 0: both
    int level, name;
    bool needs_keepalive = false; // read only after SO_KEEPALIVE was seen on
};

struct OptionValue {
    std::array<uint8_t, 32> bytes{};
    socklen_t len = 0;
    bool operator==(const OptionValue& o) const {
        return len == o.len && std::memcmp(bytes.data(), o.bytes.data(), len) == 0;
    }
};

inline constexpr CarriedOption kCarried[] = {
    {0, SOL_SOCKET, SO_REUSEADDR},
    {0, SOL_SOCKET, SO_REUSEPORT},
    {0, SOL_SOCKET, SO_SNDBUF},
    {0, SOL_SOCKET, SO_RCVBUF},
    {0, SOL_SOCKET, SO_LINGER},
    {0, SOL_SOCKET, SO_RCVTIMEO},
    {0, SOL_SOCKET, SO_SNDTIMEO},
    {0, IPPROTO_TCP, TCP_NODELAY},
    {0, IPPROTO_TCP, TCP_USER_TIMEOUT},
    {0, IPPROTO_TCP, TCP_SYNCNT},
    {0, SOL_SOCKET, SO_KEEPALIVE},
    {0, IPPROTO_TCP, TCP_KEEPIDLE, true},
    {0, IPPROTO_TCP, TCP_KEEPINTVL, true},
    {0, IPPROTO_TCP, TCP_KEEPCNT, true},
    {AF_INET, IPPROTO_IP, IP_TOS},
    {AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY},
    {AF_INET6, IPPROTO_IPV6, IPV6_TCLASS},
};
inline constexpr size_t kCarriedCount = std::size(kCarried);

enum class CarryResult {
    Carried,             // our socket has the caller's options
    BlockingWithTimeout, // a blocking caller with SO_SNDTIMEO: not bypassed (see carry)
    Refused,             // the host refused one of them (e.g. a buffer beyond its limit)
};

// A fresh socket's values, per family, read once at start-up.
class OptionDefaults {
  public:
    // Reads them from new sockets; false for a family this host has no sockets of.
    bool load(int family);
    bool loaded(int family) const { return family == AF_INET ? have4_ : have6_; }

    // Copies the caller's options (`from`, our copy of its socket) onto `to` (ours, of
    // `family`). `blocking`: the caller's connect() waits.
    CarryResult carry(int from, int to, int family, bool blocking) const;

  private:
    std::array<OptionValue, kCarriedCount> v4_{}, v6_{};
    bool have4_ = false, have6_ = false;
};

} // namespace rk::bypass
