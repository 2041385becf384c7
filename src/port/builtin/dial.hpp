// Purpose: the builtin port driver's dial protocol between the parent (host side) and the child
// (inside the network namespace), over one SOCK_SEQPACKET socketpair made before clone().
// Two requests:
//   Connect - the child connects to an address inside the namespace (from the client's address
//             for source-IP transparency, or a UDP socket) and answers with the connected
//             socket (SCM_RIGHTS) or an errno;
//   Sockets - the child answers with up to kMaxSocketsPerReply fresh, unconnected, non-blocking
//             TCP sockets of one family. A socket belongs to the network namespace it was made
//             in, so the parent connects them itself: a plain TCP flow then costs no round trip
//             to the child (see driver.cpp, "namespace sockets").
//
// Unlike upstream (a Unix socket file `.bp.sock` in the state dir, one connection and a JSON
// exchange per forwarded flow), one datagram each way per flow and no file to race on.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace rk::port::builtin {

enum class DialOp : uint8_t { Connect = 0, Sockets = 1 };

// Most sockets one Sockets reply carries (the kernel allows 253 fds per message).
constexpr int kMaxSocketsPerReply = 64;

// SYN retries of the sockets the child makes: a target that never answers fails after about
// 15 s (1 + 2 + 4 + 8) instead of the kernel's two minutes.
constexpr int kSynRetries = 3;

struct DialRequest {
    uint32_t seq = 0;
    DialOp op = DialOp::Connect;
    uint8_t family = AF_INET; // AF_INET or AF_INET6
    uint8_t type = 0;         // Connect: SOCK_STREAM or SOCK_DGRAM
    uint8_t count = 0;        // Sockets: how many (1..kMaxSocketsPerReply)
    uint16_t port = 0;        // host byte order
    uint8_t addr[16] = {};    // network byte order; 4 bytes used for AF_INET
    // Source-IP transparency (TCP only): connect from the host-side client's address so that
    // the server sees it. src_family 0: no source, connect as usual.
    uint8_t src_family = 0;
    uint16_t src_port = 0; // host byte order
    uint8_t src_addr[16] = {};
};

struct DialReply {
    uint32_t seq = 0;
    int32_t err = 0; // 0: fds are attached (one for Connect, one or more for Sockets)
};

// Builds a request for "ip:port" (IPv4 or IPv6 literal).
util::Result<DialRequest> make_request(uint32_t seq, int type, const std::string& ip, int port);

// A Sockets request for `count` TCP sockets of `family`.
DialRequest make_sockets_request(uint32_t seq, int family, int count);

// The target of `r` as a socket address; returns its length.
socklen_t target_address(const DialRequest& r, sockaddr_storage& ss);

// Whether `a` is a loopback address (127/8, ::1, or 127/8 mapped into IPv6).
bool is_loopback(const sockaddr_storage& a);

// Parent side: asks the child to connect from `client` (an accepted TCP peer) when it is a
// non-loopback address; v4-mapped IPv6 addresses count as IPv4. Returns whether it did.
bool set_source(DialRequest& r, const sockaddr_storage& client);

// For a TCP socket whose peer is on this machine (see dial.cpp): a congestion control that
// does not pace - cubic where allowed, else reno - instead of a pacing default such as bbr.
void use_local_congestion_control(int fd);

// Which families have the routing that source-IP transparency needs (dial.cpp).
struct SourceRouting {
    bool v4 = false;
    bool v6 = false;
    bool any() const { return v4 || v6; }
};

// Name of the mechanism that keeps clients' source IPs, for /v1/info
// (portDriver.extra.sourceIPTransparentBackend; upstream says "nft" or "iptables"). Ours is
// neither: socket marks and one policy rule set up over netlink.
inline constexpr const char* kSourceIpBackend = "fwmark";

// Child side, in the network namespace, before the dialer serves anything: sets up that
// routing for IPv4 and IPv6 (an IPv4 failure is a warning: clients then show as loopback).
SourceRouting prepare_source_routing();

// Child side: serves requests on `sock` until the parent closes it. Blocking; run on a thread
// of its own in the child (its connects happen inside the child's network namespace).
// `routing`: what prepare_source_routing() set up (nothing when source IPs are not kept).
void serve_dial_requests(int sock, SourceRouting routing);

// Reads one reply and the fds it carries. Non-blocking: EAGAIN means "none yet".
util::Result<std::pair<DialReply, std::vector<util::Fd>>> read_reply(int sock);

} // namespace rk::port::builtin
