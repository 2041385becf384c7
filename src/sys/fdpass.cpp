// Purpose: file descriptor passing (see fdpass.hpp).
#include "sys/fdpass.hpp"

#include "sys/syscalls.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace rk::sys {
using util::fail;

util::Result<util::Fd> connect_unix(const std::string& path) {
    util::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail(util::sys_error("socket"));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path)
        return fail(
            util::plain_error("socket path too long: " + path, "use a shorter --state-dir"));
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    if (retry_eintr(
            [&] { return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa); }) != 0)
        return fail(util::sys_error("cannot connect to " + path));
    return fd;
}

int send_with_fds_raw(int sock, const void* data, size_t len, std::span<const int> fds) {
    if (fds.size() > kMaxPassedFds) {
        errno = EINVAL;
        return -1;
    }
    iovec iov{const_cast<void*>(data), len};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (!fds.empty()) {
        const size_t bytes = sizeof(int) * fds.size();
        mh.msg_control = ctl;
        mh.msg_controllen = CMSG_SPACE(bytes);
        std::memset(ctl, 0, mh.msg_controllen);
        cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(bytes);
        std::memcpy(CMSG_DATA(c), fds.data(), bytes);
    }
    ssize_t n = retry_eintr([&] { return ::sendmsg(sock, &mh, MSG_NOSIGNAL); });
    if (n == static_cast<ssize_t>(len)) return 0;
    if (n >= 0) errno = EMSGSIZE; // a short send: not all of the message went
    return -1;
}

int send_with_fd_raw(int sock, const void* data, size_t len, int fd) {
    return send_with_fds_raw(sock, data, len,
                             fd >= 0 ? std::span<const int>(&fd, 1) : std::span<const int>());
}

util::Status send_with_fd(int sock, const void* data, size_t len, int fd) {
    if (send_with_fd_raw(sock, data, len, fd) != 0)
        return fail(util::sys_error("sendmsg (passing a descriptor)"));
    return {};
}

namespace {

// One recvmsg into `data` with room for kMax descriptors (a control buffer on the stack, sized
// for the caller: the one-descriptor form allocates nothing); `on_fd` takes ownership of each
// descriptor that arrived, before anything else is looked at. The size, or the error; MSG_TRUNC
// and MSG_CTRUNC in `msg_flags`.
template <size_t kMax, typename OnFd>
util::Result<size_t> recv_fds_core(int sock, void* data, size_t len, int flags, int& msg_flags,
                                   OnFd on_fd) {
    iovec iov{data, len};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMax)] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    ssize_t n = retry_eintr([&] { return ::recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC); });
    if (n < 0) return fail(util::sys_error("recvmsg (receiving descriptors)"));
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            on_fd(util::Fd(fd));
        }
    }
    msg_flags = mh.msg_flags;
    return static_cast<size_t>(n);
}

} // namespace

util::Result<ReceivedMany> recv_with_fds(int sock, void* data, size_t len, int flags) {
    ReceivedMany r;
    int mf = 0;
    r.size = RK_TRY(recv_fds_core<kMaxPassedFds>(
        sock, data, len, flags, mf, [&](util::Fd fd) { r.fds.push_back(std::move(fd)); }));
    r.truncated = (mf & MSG_TRUNC) != 0;
    r.fds_truncated = (mf & MSG_CTRUNC) != 0;
    return r;
}

util::Result<Received> recv_with_fd(int sock, void* data, size_t len, int flags) {
    Received r;
    int mf = 0;
    bool extra = false;
    // one descriptor is expected; any more are closed here, and a message with more is as
    // wrong as one cut short
    r.size = RK_TRY(recv_fds_core<1>(sock, data, len, flags, mf, [&](util::Fd fd) {
        if (r.fd)
            extra = true;
        else
            r.fd = std::move(fd);
    }));
    r.truncated = extra || (mf & (MSG_TRUNC | MSG_CTRUNC)) != 0;
    return r;
}

util::Status send_fd(int sock, int fd) {
    const char byte = 'F';
    return send_with_fd(sock, &byte, 1, fd);
}

util::Result<util::Fd> recv_fd(int sock, int timeout_ms) {
    pollfd pf{sock, POLLIN, 0};
    int r = retry_eintr([&] { return ::poll(&pf, 1, timeout_ms); });
    if (r == 0) return fail(util::plain_error("timed out waiting for a descriptor"));
    char byte;
    auto got = RK_TRY(recv_with_fd(sock, &byte, 1, 0));
    if (!got.fd) return fail(util::plain_error("no descriptor arrived (the peer closed?)"));
    return std::move(got.fd);
}

} // namespace rk::sys
