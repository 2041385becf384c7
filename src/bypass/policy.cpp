// Purpose: the socket bypass's pure decisions (see policy.hpp).
#include "bypass/policy.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace rk::bypass {

bool Prefix::contains(const Address& a) const {
    if (a.family != addr.family) return false;
    int full = len / 8, rest = len % 8;
    if (std::memcmp(a.bytes.data(), addr.bytes.data(), static_cast<size_t>(full)) != 0)
        return false;
    if (rest == 0) return true;
    auto mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a.bytes[static_cast<size_t>(full)] & mask) ==
           (addr.bytes[static_cast<size_t>(full)] & mask);
}

std::optional<Prefix> parse_prefix(const std::string& text) {
    auto slash = text.find('/');
    if (slash == std::string::npos || slash + 1 >= text.size()) return std::nullopt;
    std::string ip = text.substr(0, slash), len = text.substr(slash + 1);
    if (len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    auto addr = sys::parse_ip(ip);
    if (!addr) return std::nullopt;
    Prefix p{*addr, std::stoi(len)};
    if (p.len > (p.addr.family == AF_INET ? 32 : 128)) return std::nullopt;
    return p;
}

std::vector<Prefix> never_ranges(const std::vector<Prefix>& extra) {
    std::vector<Prefix> out;
    for (const char* r : {"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3", "::/128",
                          "::1/128", "fe80::/10", "ff00::/8"})
        out.push_back(*parse_prefix(r));
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

std::vector<uint8_t> route_request(const Address& dst, uint32_t seq) {
    const size_t alen = dst.family == AF_INET ? 4 : 16;
    const size_t len = NLMSG_LENGTH(sizeof(rtmsg)) + RTA_SPACE(alen);
    std::vector<uint8_t> buf(NLMSG_ALIGN(len), 0);
    auto* nh = reinterpret_cast<nlmsghdr*>(buf.data());
    nh->nlmsg_len = static_cast<uint32_t>(len);
    nh->nlmsg_type = RTM_GETROUTE;
    nh->nlmsg_flags = NLM_F_REQUEST;
    nh->nlmsg_seq = seq;
    auto* rt = static_cast<rtmsg*>(NLMSG_DATA(nh));
    rt->rtm_family = static_cast<unsigned char>(dst.family);
    rt->rtm_dst_len = static_cast<unsigned char>(alen * 8);
    auto* rta = reinterpret_cast<rtattr*>(buf.data() + NLMSG_LENGTH(sizeof(rtmsg)));
    rta->rta_type = RTA_DST;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(alen));
    std::memcpy(RTA_DATA(rta), dst.bytes.data(), alen);
    return buf;
}

std::optional<Route> parse_route_reply(std::span<const uint8_t> bytes, uint32_t seq,
                                       uint32_t portid) {
    size_t off = 0;
    while (off + sizeof(nlmsghdr) <= bytes.size()) {
        nlmsghdr nh;
        std::memcpy(&nh, bytes.data() + off, sizeof nh);
        if (nh.nlmsg_len < sizeof nh || nh.nlmsg_len > bytes.size() - off) return std::nullopt;
        const uint8_t* body = bytes.data() + off + NLMSG_HDRLEN;
        const size_t body_len = nh.nlmsg_len - NLMSG_HDRLEN;
        if (nh.nlmsg_pid != portid) {
            off += NLMSG_ALIGN(nh.nlmsg_len);
            continue;
        }
        if (nh.nlmsg_seq == seq && nh.nlmsg_type == NLMSG_ERROR) {
            nlmsgerr e;
            if (body_len < sizeof e.error) return std::nullopt;
            std::memcpy(&e.error, body, sizeof e.error);
            if (e.error == 0) return std::nullopt; // an ack, not an answer
            return Route{e.error < 0 && e.error > -4096 ? -e.error : EIO, 0, false};
        }
        if (nh.nlmsg_seq == seq && nh.nlmsg_type == RTM_NEWROUTE) {
            rtmsg rt;
            if (body_len < sizeof rt) return std::nullopt;
            std::memcpy(&rt, body, sizeof rt);
            Route r{0, rt.rtm_type, false};
            size_t a = NLMSG_ALIGN(sizeof rt);
            while (a + sizeof(rtattr) <= body_len) {
                rtattr ra;
                std::memcpy(&ra, body + a, sizeof ra);
                if (ra.rta_len < sizeof ra || ra.rta_len > body_len - a) break;
                if (ra.rta_type == RTA_GATEWAY || ra.rta_type == RTA_VIA ||
                    ra.rta_type == RTA_MULTIPATH)
                    r.gateway = true;
                a += RTA_ALIGN(ra.rta_len);
            }
            return r;
        }
        off += NLMSG_ALIGN(nh.nlmsg_len);
    }
    return std::nullopt;
}

bool outside(const Route& r) {
    return r.error == 0 && r.type == RTN_UNICAST && r.gateway;
}

} // namespace rk::bypass
