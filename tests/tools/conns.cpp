// Purpose: a test helper that holds many TCP connections open at the same time, for the port
// tests: `serve PORT` echoes on [::]:PORT (dual-stack) in one epoll loop (`serve PORT close`
// or `reset` ends each connection as soon as it is accepted instead); `hold HOST PORT N
// SECONDS` opens N connections, sends a distinct line on each once it is connected and waits
// for each line to come back - closing none before all are back or the time is up. A line that
// came back crossed the forwarder on a live flow, so "echoed N of N" means N flows were open
// through it at once; "F closed" counts connections that failed or were closed before their
// line came back (the rest were still waiting). Exit 0 when all N came back, 1 otherwise. Both
// raise their own soft open-files limit to the hard one (they need an fd per connection).
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

void raise_nofile() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "conns: %s: %s\n", what, std::strerror(errno));
    std::exit(2);
}

// `at_once`: 0 echoes; 'c' closes each connection as soon as it is accepted, 'r' resets it
// (SO_LINGER 0) - servers whose connections are over before the client looks.
int serve(int port, char at_once) {
    int ls = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0) die("socket");
    int one = 1, zero = 0;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    a.sin6_addr = in6addr_any;
    if (bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
    if (listen(ls, 4096) != 0) die("listen");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{EPOLLIN, {.fd = ls}};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    epoll_event evs[256];
    char buf[4096];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; ++i) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (at_once != 0) {
                        linger l{1, 0};
                        if (at_once == 'r') setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                        close(c);
                        continue;
                    }
                    epoll_event cev{EPOLLIN, {.fd = c}};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r > 0) {
                // Lines are short: a blocking-free write of what was read is enough here.
                if (write(fd, buf, static_cast<size_t>(r)) != r) close(fd);
            } else if (r == 0 || errno != EAGAIN) {
                close(fd);
            }
        }
    }
}

struct Conn {
    int fd = -1;
    std::string want, got;
    bool sent = false, done = false;
};

int hold(const char* host, const char* port, int count, int seconds) {
    addrinfo hints{}, *ai = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        std::fprintf(stderr, "conns: cannot resolve %s\n", host);
        return 2;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<Conn> conns(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        Conn& c = conns[static_cast<size_t>(i)];
        c.fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) die("socket");
        if (connect(c.fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) die("connect");
        c.want = "line-" + std::to_string(i) + "\n";
        epoll_event ev{EPOLLIN | EPOLLOUT, {.u32 = static_cast<uint32_t>(i)}};
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    }
    freeaddrinfo(ai);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    int echoed = 0, failed = 0;
    epoll_event evs[256];
    char buf[256];
    while (echoed + failed < count) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) break;
        int n = epoll_wait(ep, evs, 256, static_cast<int>(left));
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int k = 0; k < n; ++k) {
            Conn& c = conns[evs[k].data.u32];
            if (c.done) continue;
            if ((evs[k].events & EPOLLOUT) && !c.sent) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || write(c.fd, c.want.data(), c.want.size()) !=
                                    static_cast<ssize_t>(c.want.size())) {
                    c.done = true;
                    ++failed;
                    continue;
                }
                c.sent = true;
                epoll_event ev{EPOLLIN, {.u32 = evs[k].data.u32}};
                epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
            }
            if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = read(c.fd, buf, sizeof buf);
                if (r > 0) c.got.append(buf, static_cast<size_t>(r));
                if (c.got == c.want) {
                    c.done = true;
                    ++echoed;
                } else if (r == 0 || (r < 0 && errno != EAGAIN) || c.got.size() >= c.want.size()) {
                    c.done = true;
                    ++failed;
                }
            }
        }
    }
    std::printf("echoed %d of %d, %d closed\n", echoed, count, failed);
    for (Conn& c : conns)
        close(c.fd);
    return echoed == count ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    raise_nofile();
    if (argc == 3 && std::strcmp(argv[1], "serve") == 0) return serve(std::atoi(argv[2]), 0);
    if (argc == 4 && std::strcmp(argv[1], "serve") == 0 &&
        (std::strcmp(argv[3], "close") == 0 || std::strcmp(argv[3], "reset") == 0))
        return serve(std::atoi(argv[2]), argv[3][0]);
    if (argc == 6 && std::strcmp(argv[1], "hold") == 0)
        return hold(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]));
    std::fprintf(stderr,
                 "usage: conns serve PORT [close|reset] | conns hold HOST PORT N SECONDS\n");
    return 2;
}
