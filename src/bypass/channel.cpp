// Purpose: the socket bypass's parent <-> child frames (see channel.hpp).
#include "bypass/channel.hpp"

#include "sys/fdpass.hpp"

#include <sys/socket.h>

namespace rk::bypass {
using util::fail;

util::Status send_frame(int sock, const Frame& f, int fd) {
    if (auto s = sys::send_with_fd(sock, &f, sizeof f, fd); !s)
        return fail(s.error().wrap("socket bypass channel"));
    return {};
}

util::Result<Received> recv_frame(int sock) {
    Received r;
    auto got = RK_TRY(sys::recv_with_fd(sock, &r.frame, sizeof r.frame, MSG_DONTWAIT));
    r.fd = std::move(got.fd);
    if (got.size == 0) return fail(util::sys_error(EPIPE, "socket bypass channel closed"));
    if (got.size != sizeof r.frame || got.truncated)
        return fail(util::sys_error(EBADMSG, "socket bypass channel: malformed frame"));
    return r;
}

int send_listener(int sock, int listener) {
    const Frame f{Tag::Listener};
    return sys::send_with_fd_raw(sock, &f, sizeof f, listener);
}

} // namespace rk::bypass
