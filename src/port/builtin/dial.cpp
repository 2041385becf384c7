// Purpose: the builtin port driver's dial protocol (see dial.hpp).
#include "port/builtin/dial.hpp"

#include "sys/syscalls.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace rk::port::builtin {

util::Result<DialRequest> make_request(uint32_t seq, int type, const std::string& ip, int port) {
    DialRequest r;
    r.seq = seq;
    r.type = static_cast<uint8_t>(type);
    r.port = static_cast<uint16_t>(port);
    if (::inet_pton(AF_INET, ip.c_str(), r.addr) == 1)
        r.family = AF_INET;
    else if (::inet_pton(AF_INET6, ip.c_str(), r.addr) == 1)
        r.family = AF_INET6;
    else
        return util::fail(util::plain_error("not an IP address: " + ip));
    return r;
}

namespace {

// Connects inside our network namespace; returns the socket or -errno.
int dial(const DialRequest& r) {
    int fd = ::socket(r.family, r.type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (r.family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(r.port);
        std::memcpy(&sin->sin_addr, r.addr, 4);
        len = sizeof *sin;
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(r.port);
        std::memcpy(&sin6->sin6_addr, r.addr, 16);
        len = sizeof *sin6;
    }
    // A target that does not answer must not hold the dialer up for long.
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (sys::retry_eintr([&] { return ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len); }) !=
        0) {
        int err = errno;
        ::close(fd);
        return -err;
    }
    timeval none{0, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
    return fd;
}

void send_reply(int sock, const DialReply& rep, int fd) {
    iovec iov{const_cast<DialReply*>(&rep), sizeof rep};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    sys::retry_eintr([&] { return ::sendmsg(sock, &msg, MSG_NOSIGNAL); });
}

} // namespace

void serve_dial_requests(int sock) {
    for (;;) {
        DialRequest req;
        ssize_t n = sys::retry_eintr([&] { return ::recv(sock, &req, sizeof req, 0); });
        if (n <= 0) return; // the parent is gone or closed the channel
        if (n != static_cast<ssize_t>(sizeof req) ||
            (req.family != AF_INET && req.family != AF_INET6) ||
            (req.type != SOCK_STREAM && req.type != SOCK_DGRAM)) {
            send_reply(sock, {req.seq, EINVAL}, -1);
            continue;
        }
        int fd = dial(req);
        send_reply(sock, {req.seq, fd < 0 ? -fd : 0}, fd);
        if (fd >= 0) ::close(fd);
    }
}

util::Result<std::pair<DialReply, util::Fd>> read_reply(int sock) {
    DialReply rep;
    iovec iov{&rep, sizeof rep};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n =
        sys::retry_eintr([&] { return ::recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC); });
    if (n < 0) return util::fail(util::sys_error("dial channel"));
    if (n == 0) return util::fail(util::sys_error(EPIPE, "the child closed the dial channel"));
    util::Fd fd;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int f;
            std::memcpy(&f, CMSG_DATA(c), sizeof f);
            fd.reset(f);
        }
    if (n != static_cast<ssize_t>(sizeof rep))
        return util::fail(util::plain_error("malformed reply on the dial channel"));
    return std::pair{rep, std::move(fd)};
}

} // namespace rk::port::builtin
