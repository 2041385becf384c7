// Purpose: the socket bypass's channel between the parent and the child (a SOCK_SEQPACKET pair
// made before clone): fixed 16-byte frames, some carrying one descriptor.
//
//   child  -> parent  Home     the child's rtnetlink socket in the namespace the command starts
//                              in (the detached one with --detach-netns); sent before the target
//   target -> parent  Listener the seccomp listener, sent by the target between installing its
//                              filter and exec (so it always follows Home)
//   parent -> child   Query    a network namespace fd (from SIOCGSKNS), `key` its cookie
//                              (SO_NETNS_COOKIE of the socket it came from)
//   child  -> parent  Reply    `key` echoed; `err` 0 and an rtnetlink socket made in that
//                              namespace, or the errno
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <cstdint>

namespace rk::bypass {

enum class Tag : uint8_t { Home = 'H', Listener = 'L', Query = 'Q', Reply = 'R' };

struct Frame {
    Tag tag{};
    uint8_t pad[3] = {};
    int32_t err = 0;
    uint64_t key = 0;
};
static_assert(sizeof(Frame) == 16);

// Sends `f` with `fd` attached (none if fd < 0).
util::Status send_frame(int sock, const Frame& f, int fd = -1);

// One frame without waiting (MSG_DONTWAIT): the frame and its descriptor (if any), EAGAIN when
// none is queued, EPIPE at EOF, EBADMSG for a frame of another size.
struct Received {
    Frame frame;
    util::Fd fd;
};
util::Result<Received> recv_frame(int sock);

// The Listener frame with the target's listener, from the vfork child: syscalls only.
// Returns 0, or -1 with errno.
int send_listener(int sock, int listener);

} // namespace rk::bypass
