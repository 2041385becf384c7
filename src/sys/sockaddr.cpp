// Purpose: socket addresses of the two IP families (see sockaddr.hpp).
#include "sys/sockaddr.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace rk::sys {

std::optional<Endpoint> parse_sockaddr(std::span<const uint8_t> bytes) {
    if (bytes.size() < sizeof(sa_family_t)) return std::nullopt;
    sa_family_t family;
    std::memcpy(&family, bytes.data(), sizeof family);
    Endpoint e;
    e.socket_family = family;
    if (family == AF_INET) {
        if (bytes.size() < sizeof(sockaddr_in)) return std::nullopt;
        sockaddr_in sin;
        std::memcpy(&sin, bytes.data(), sizeof sin);
        e.addr.family = AF_INET;
        std::memcpy(e.addr.bytes.data(), &sin.sin_addr, 4);
        e.port = ntohs(sin.sin_port);
        return e;
    }
    if (family == AF_INET6) {
        if (bytes.size() < sizeof(sockaddr_in6)) return std::nullopt;
        sockaddr_in6 sin6;
        std::memcpy(&sin6, bytes.data(), sizeof sin6);
        e.port = ntohs(sin6.sin6_port);
        e.flowinfo = sin6.sin6_flowinfo;
        e.scope_id = sin6.sin6_scope_id;
        if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
            e.addr.family = AF_INET;
            std::memcpy(e.addr.bytes.data(), sin6.sin6_addr.s6_addr + 12, 4);
        } else {
            e.addr.family = AF_INET6;
            std::memcpy(e.addr.bytes.data(), sin6.sin6_addr.s6_addr, 16);
        }
        return e;
    }
    return std::nullopt;
}

socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& out) {
    out = {};
    if (e.socket_family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(e.port);
        std::memcpy(&a.sin_addr, e.addr.bytes.data(), 4);
        std::memcpy(&out, &a, sizeof a);
        return sizeof a;
    }
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(e.port);
    a.sin6_flowinfo = e.flowinfo;
    a.sin6_scope_id = e.scope_id;
    if (e.addr.family == AF_INET) {
        a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(a.sin6_addr.s6_addr + 12, e.addr.bytes.data(), 4);
    } else {
        std::memcpy(a.sin6_addr.s6_addr, e.addr.bytes.data(), 16);
    }
    std::memcpy(&out, &a, sizeof a);
    return sizeof a;
}

Endpoint endpoint(int family, const uint8_t* addr, uint16_t port) {
    Endpoint e;
    e.socket_family = e.addr.family = family;
    std::memcpy(e.addr.bytes.data(), addr, e.addr.size());
    e.port = port;
    return e;
}

std::optional<IpAddress> parse_ip(const std::string& text) {
    IpAddress a;
    if (::inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (::inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return std::nullopt;
}

bool is_loopback(const IpAddress& a) {
    if (a.family == AF_INET) return a.bytes[0] == 127;
    static constexpr std::array<uint8_t, 16> kLoopback6{0, 0, 0, 0, 0, 0, 0, 0,
                                                        0, 0, 0, 0, 0, 0, 0, 1};
    return a.family == AF_INET6 && a.bytes == kLoopback6;
}

} // namespace rk::sys
