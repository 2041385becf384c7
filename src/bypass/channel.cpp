// Purpose: the socket bypass's parent <-> child frames (see channel.hpp).
#include "bypass/channel.hpp"

#include "sys/fdpass.hpp"

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

// The Listener frame's message, prepared ahead: the vfork child only writes the fd into it.
void PreparedListenerSend::prepare() {
    iov = {&frame, sizeof frame};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
}

int PreparedListenerSend::send(int sock, int fd) {
    std::memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof fd);
    return ::sendmsg(sock, &mh, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof frame) ? 0 : -1;
}

} // namespace rk::bypass
