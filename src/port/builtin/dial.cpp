// Purpose: the builtin port driver's dial protocol (see dial.hpp).
#include "port/builtin/dial.hpp"

#include "sys/syscalls.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

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

// Starts a non-blocking connect inside our network namespace; returns the socket or -errno.
int start_connect(const DialRequest& r, bool& in_progress) {
    int fd = ::socket(r.family, r.type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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
    in_progress = false;
    if (sys::retry_eintr([&] { return ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len); }) !=
        0) {
        if (errno == EINPROGRESS) {
            in_progress = true;
            return fd;
        }
        int err = errno;
        ::close(fd);
        return -err;
    }
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
    // The channel is blocking on this side: a full buffer just waits for the parent.
    sys::retry_eintr([&] { return ::sendmsg(sock, &msg, MSG_NOSIGNAL); });
}

struct Connecting {
    uint32_t seq;
    std::chrono::steady_clock::time_point deadline;
};

} // namespace

// Theory of Operation: one epoll set holds the channel and every connect in progress, so a
// slow or unanswered target (a full listen backlog retransmits SYNs for seconds) never holds
// up the others. A connect that has not completed after 10 s is answered with ETIMEDOUT.
void serve_dial_requests(int sock) {
    util::Fd ep(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = sock;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, sock, &ev);
    std::unordered_map<int, Connecting> connecting;
    auto finish = [&](int fd, int err) {
        auto it = connecting.find(fd);
        if (it == connecting.end()) return;
        ::epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr);
        send_reply(sock, {it->second.seq, err}, err == 0 ? fd : -1);
        connecting.erase(it);
        ::close(fd);
    };
    for (;;) {
        epoll_event events[64];
        int n = sys::retry_eintr([&] { return ::epoll_wait(ep.get(), events, 64, 1000); });
        if (n < 0) return;
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd != sock) {
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                finish(fd, err);
                continue;
            }
            DialRequest req;
            ssize_t got =
                sys::retry_eintr([&] { return ::recv(sock, &req, sizeof req, MSG_DONTWAIT); });
            if (got == 0) return; // the parent is gone or closed the channel
            if (got < 0) {
                if (errno == EAGAIN) continue;
                return;
            }
            if (got != static_cast<ssize_t>(sizeof req) ||
                (req.family != AF_INET && req.family != AF_INET6) ||
                (req.type != SOCK_STREAM && req.type != SOCK_DGRAM)) {
                send_reply(sock, {req.seq, EINVAL}, -1);
                continue;
            }
            bool in_progress = false;
            int cfd = start_connect(req, in_progress);
            if (cfd < 0) {
                send_reply(sock, {req.seq, -cfd}, -1);
            } else if (!in_progress) {
                send_reply(sock, {req.seq, 0}, cfd);
                ::close(cfd);
            } else {
                connecting[cfd] = {req.seq,
                                   std::chrono::steady_clock::now() + std::chrono::seconds(10)};
                epoll_event cev{};
                cev.events = EPOLLOUT;
                cev.data.fd = cfd;
                ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, cfd, &cev);
            }
        }
        auto now = std::chrono::steady_clock::now();
        std::vector<int> expired;
        for (const auto& [fd, c] : connecting)
            if (c.deadline <= now) expired.push_back(fd);
        for (int fd : expired)
            finish(fd, ETIMEDOUT);
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
