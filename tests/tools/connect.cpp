// Purpose: a test helper that makes one TCP connect() the way the socket-bypass tests need and
// reports what the program saw:
//   rk-test-connect [-n] [-d] [-b PORT] [-6] [-t MS] [-e] HOST PORT
//     -n  non-blocking: connect() must say EINPROGRESS (or 0), then poll and read SO_ERROR
//     -d  set TCP_NODELAY before connecting      -b  bind this local port first (SO_REUSEADDR)
//     -6  an AF_INET6 socket (HOST may be IPv4: it is then IPv4-mapped)
//     -t  SO_SNDTIMEO in ms                       -e  send "ping\n" and expect it echoed
//     -w  send "ping\n" and read once (for at most 2 s), whatever comes back (an HTTP client's
//         request to a server that closed at once: its kernel answers with a reset); " wrote"
//         on the line
//     -u  a UDP socket instead (connect() only fixes the peer; nothing is sent)
//     -T  make the connect() from a second thread (the rest stays on the first)
//     -s N  TCP_SYNCNT (a connect to a silent peer gives up after about 2^(N+1)-1 s)
//     -a IPV4:PORT  if the connect fails, connect the same socket there (blocking) and
//         print "again ok local=..." or "again error NAME" after the first result
// Prints one line: "ok local=ADDR:PORT nodelay=0|1 nonblock=0|1 cloexec=0|1 [echo=ok]" or
// "error NAME" (the errno's name, e.g. ECONNREFUSED; for -n, "einprogress" first if seen).
// Exit 0 on "ok", 1 on "error", 2 on bad usage.
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace {

const char* errno_name(int e) {
    switch (e) {
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ENETUNREACH:
        return "ENETUNREACH";
    case EHOSTUNREACH:
        return "EHOSTUNREACH";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EINPROGRESS:
        return "EINPROGRESS";
    case EACCES:
        return "EACCES";
    case EPERM:
        return "EPERM";
    case EADDRINUSE:
        return "EADDRINUSE";
    case ENOSYS:
        return "ENOSYS";
    case EINVAL:
        return "EINVAL";
    case EAFNOSUPPORT:
        return "EAFNOSUPPORT";
    case EINTR:
        return "EINTR";
    default:
        return strerrorname_np(e) ? strerrorname_np(e) : "E?";
    }
}

int fail(int e) {
    std::printf("error %s\n", errno_name(e));
    return 1;
}

// -a: the same socket, connected again to "IPV4:PORT" after a failure.
int connect_again(int fd, const char* where) {
    std::string w(where);
    auto colon = w.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(w.c_str() + colon + 1)));
    inet_pton(AF_INET, w.substr(0, colon).c_str(), &a.sin_addr);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    // a second connect() first reports the pending error (Linux), then starts anew
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 &&
        connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        std::printf("again error %s\n", errno_name(errno));
        return 1;
    }
    sockaddr_in l{};
    socklen_t ll = sizeof l;
    getsockname(fd, reinterpret_cast<sockaddr*>(&l), &ll);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &l.sin_addr, text, sizeof text);
    std::printf("again ok local=%s:%d\n", text, ntohs(l.sin_port));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    bool nonblock = false, nodelay = false, v6 = false, echo = false, udp = false, poke = false;
    int bind_port = 0, timeout_ms = 0, opt;
    const char* again = nullptr;
    int syncnt = 0;
    bool threaded = false;
    while ((opt = getopt(argc, argv, "ndb:6t:euwa:s:T")) != -1) {
        switch (opt) {
        case 'n':
            nonblock = true;
            break;
        case 'd':
            nodelay = true;
            break;
        case 'b':
            bind_port = std::atoi(optarg);
            break;
        case '6':
            v6 = true;
            break;
        case 't':
            timeout_ms = std::atoi(optarg);
            break;
        case 'e':
            echo = true;
            break;
        case 'u':
            udp = true;
            break;
        case 'w':
            poke = true;
            break;
        case 'a':
            again = optarg;
            break;
        case 's':
            syncnt = std::atoi(optarg);
            break;
        case 'T':
            threaded = true;
            break;
        default:
            return 2;
        }
    }
    if (argc - optind != 2) {
        std::fprintf(
            stderr,
            "usage: rk-test-connect [-n] [-d] [-b PORT] [-6] [-t MS] [-e|-w] [-u] HOST PORT\n");
        return 2;
    }
    const char* host = argv[optind];
    const int port = std::atoi(argv[optind + 1]);
    sockaddr_storage sa{};
    socklen_t sl = 0;
    in_addr a4{};
    in6_addr a6{};
    const bool host_v4 = inet_pton(AF_INET, host, &a4) == 1;
    if (!host_v4 && inet_pton(AF_INET6, host, &a6) != 1) return 2;
    if (!host_v4) v6 = true;
    if (v6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&sa);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(static_cast<uint16_t>(port));
        if (host_v4) {
            s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
            std::memcpy(s6->sin6_addr.s6_addr + 12, &a4, 4);
        } else {
            s6->sin6_addr = a6;
        }
        sl = sizeof *s6;
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&sa);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(static_cast<uint16_t>(port));
        s4->sin_addr = a4;
        sl = sizeof *s4;
    }
    int fd =
        socket(v6 ? AF_INET6 : AF_INET,
               (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return fail(errno);
    int one = 1;
    if (nodelay) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (syncnt > 0) setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt);
    if (timeout_ms > 0) {
        timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (bind_port > 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_storage b{};
        if (v6) {
            auto* b6 = reinterpret_cast<sockaddr_in6*>(&b);
            b6->sin6_family = AF_INET6;
            b6->sin6_port = htons(static_cast<uint16_t>(bind_port));
        } else {
            auto* b4 = reinterpret_cast<sockaddr_in*>(&b);
            b4->sin_family = AF_INET;
            b4->sin_port = htons(static_cast<uint16_t>(bind_port));
        }
        if (bind(fd, reinterpret_cast<sockaddr*>(&b), sl) != 0) return fail(errno);
    }
    int rc = 0, e = 0;
    if (threaded) {
        std::thread t([&] {
            rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sl);
            e = errno;
        });
        t.join();
    } else {
        rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sl);
        e = errno;
    }
    if (rc != 0) {
        if (!nonblock || e != EINPROGRESS) return fail(e);
        std::printf("einprogress ");
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 30000) != 1) return fail(ETIMEDOUT);
        int so = 0;
        socklen_t l = sizeof so;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &l);
        if (so != 0) {
            fail(so);
            if (again) connect_again(fd, again);
            return 1;
        }
    }
    sockaddr_storage local{};
    socklen_t ll = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll);
    char text[INET6_ADDRSTRLEN] = "?";
    int lport = 0;
    if (local.ss_family == AF_INET) {
        auto* l4 = reinterpret_cast<sockaddr_in*>(&local);
        inet_ntop(AF_INET, &l4->sin_addr, text, sizeof text);
        lport = ntohs(l4->sin_port);
    } else {
        auto* l6 = reinterpret_cast<sockaddr_in6*>(&local);
        inet_ntop(AF_INET6, &l6->sin6_addr, text, sizeof text);
        lport = ntohs(l6->sin6_port);
    }
    int nd = 0;
    socklen_t ndl = sizeof nd;
    if (!udp) getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &ndl);
    int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);
    std::string echo_result;
    if (echo) {
        if (nonblock) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        const char msg[] = "ping\n";
        char buf[16] = {};
        size_t got = 0;
        if (write(fd, msg, 5) != 5) return fail(errno);
        while (got < 5) {
            ssize_t n = read(fd, buf + got, 5 - got);
            if (n <= 0) return fail(n == 0 ? ECONNRESET : errno);
            got += static_cast<size_t>(n);
        }
        echo_result = std::strcmp(buf, msg) == 0 ? " echo=ok" : " echo=bad";
    } else if (poke) {
        if (nonblock) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        char buf[16];
        // At most 2 s: a user-mode network may lose the close of a connection reset this way
        // (seen with slirp4netns under load: the read never returned).
        timeval tv{2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void)!write(fd, "ping\n", 5);
        (void)!read(fd, buf, sizeof buf);
        echo_result = " wrote";
    }
    std::printf("ok local=%s:%d nodelay=%d nonblock=%d cloexec=%d%s\n", text, lport, nd ? 1 : 0,
                (fl & O_NONBLOCK) ? 1 : 0, (fdf & FD_CLOEXEC) ? 1 : 0, echo_result.c_str());
    return 0;
}
