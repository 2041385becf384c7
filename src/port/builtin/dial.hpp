// Purpose: the builtin port driver's dial protocol between the parent (host side) and the child
// (inside the network namespace), over one SOCK_SEQPACKET socketpair made before clone():
// the parent asks for a connection to an address inside the namespace, the child connects and
// answers with the connected socket (SCM_RIGHTS) or an errno.
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

namespace rk::port::builtin {

struct DialRequest {
    uint32_t seq = 0;
    uint8_t family = AF_INET; // AF_INET or AF_INET6
    uint8_t type = 0;         // SOCK_STREAM or SOCK_DGRAM
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
    int32_t err = 0; // 0: an fd is attached
};

// Builds a request for "ip:port" (IPv4 or IPv6 literal).
util::Result<DialRequest> make_request(uint32_t seq, int type, const std::string& ip, int port);

// Parent side: asks the child to connect from `client` (an accepted TCP peer) when it is a
// non-loopback address; v4-mapped IPv6 addresses count as IPv4. Returns whether it did.
bool set_source(DialRequest& r, const sockaddr_storage& client);

// Child side: serves requests on `sock` until the parent closes it. Blocking; run on a thread
// of its own in the child (its connects happen inside the child's network namespace).
void serve_dial_requests(int sock);

// Reads one reply (and its fd, if any). Non-blocking: EAGAIN means "none yet".
util::Result<std::pair<DialReply, util::Fd>> read_reply(int sock);

} // namespace rk::port::builtin
