// Purpose: the socket bypass's parent <-> child frames (see channel.hpp).
#include "bypass/channel.hpp"

#include "sys/syscalls.hpp"

namespace rk::bypass {
using util::fail;

namespace {
void attach(msghdr& mh, char* ctl, size_t ctl_size, int fd) {
    mh.msg_control = ctl;
    mh.msg_controllen = ctl_size;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
}
} // namespace

util::Status send_frame(int sock, const Frame& f, int fd) {
    iovec iov{const_cast<Frame*>(&f), sizeof f};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (fd >= 0) attach(mh, ctl, sizeof ctl, fd);
    if (sys::retry_eintr([&] { return ::sendmsg(sock, &mh, MSG_NOSIGNAL); }) !=
        static_cast<ssize_t>(sizeof f))
        return fail(util::sys_error("socket bypass channel: sendmsg"));
    return {};
}

util::Result<Received> recv_frame(int sock) {
    Received r;
    iovec iov{&r.frame, sizeof r.frame};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    ssize_t n =
        sys::retry_eintr([&] { return ::recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC); });
    if (n < 0) return fail(util::sys_error("socket bypass channel: recvmsg"));
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            r.fd = util::Fd(fd);
        }
    }
    if (n == 0) return fail(util::sys_error(EPIPE, "socket bypass channel closed"));
    if (n != static_cast<ssize_t>(sizeof r.frame) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        return fail(util::sys_error(EBADMSG, "socket bypass channel: malformed frame"));
    return r;
}

void PreparedListenerSend::prepare() {
    iov = {&frame, sizeof frame};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    attach(mh, ctl, sizeof ctl, -1);
}

int PreparedListenerSend::send(int sock, int fd) {
    std::memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof fd);
    return ::sendmsg(sock, &mh, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof frame) ? 0 : -1;
}

} // namespace rk::bypass
