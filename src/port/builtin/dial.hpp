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

namespace rk::port::builtin {

struct DialRequest {
    uint32_t seq = 0;
    uint8_t family = AF_INET; // AF_INET or AF_INET6
    uint8_t type = 0;         // SOCK_STREAM or SOCK_DGRAM
    uint16_t port = 0;        // host byte order
    uint8_t addr[16] = {};    // network byte order; 4 bytes used for AF_INET
};

struct DialReply {
    uint32_t seq = 0;
    int32_t err = 0; // 0: an fd is attached
};

// Builds a request for "ip:port" (IPv4 or IPv6 literal).
util::Result<DialRequest> make_request(uint32_t seq, int type, const std::string& ip, int port);

// Child side: serves requests on `sock` until the parent closes it. Blocking; run on a thread
// of its own in the child (its connects happen inside the child's network namespace).
void serve_dial_requests(int sock);

// Reads one reply (and its fd, if any). Non-blocking: EAGAIN means "none yet".
util::Result<std::pair<DialReply, util::Fd>> read_reply(int sock);

} // namespace rk::port::builtin
