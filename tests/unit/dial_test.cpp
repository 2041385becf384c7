// Purpose: the builtin port driver's dial requests: targets and the client source address
// used for source-IP transparency, loopback peers, and the namespace sockets the child makes.
#include "port/builtin/dial.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <vector>

namespace rk::port::builtin {
namespace {

sockaddr_storage peer(const char* ip, uint16_t port) {
    sockaddr_storage ss{};
    if (std::strchr(ip, ':')) {
        auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        EXPECT_EQ(::inet_pton(AF_INET6, ip, &s->sin6_addr), 1) << ip;
    } else {
        auto* s = reinterpret_cast<sockaddr_in*>(&ss);
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        EXPECT_EQ(::inet_pton(AF_INET, ip, &s->sin_addr), 1) << ip;
    }
    return ss;
}

std::string source_of(const DialRequest& r) {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(r.src_family, r.src_addr, buf, sizeof buf);
    return buf;
}

TEST(DialRequest, TargetsParseBothFamilies) {
    auto v4 = make_request(1, SOCK_STREAM, "127.0.0.1", 80);
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family, AF_INET);
    EXPECT_EQ(v4->port, 80);
    auto v6 = make_request(2, SOCK_DGRAM, "::1", 53);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family, AF_INET6);
    EXPECT_FALSE(make_request(3, SOCK_STREAM, "localhost", 80));
}

TEST(DialRequest, SourceIsTheClientUnlessLoopback) {
    struct Case {
        const char* client;
        bool used;
        int family;
        const char* source;
    } cases[] = {
        {"192.0.2.7", true, AF_INET, "192.0.2.7"},
        {"127.0.0.1", false, 0, ""},
        {"127.5.6.7", false, 0, ""},
        {"::ffff:192.0.2.7", true, AF_INET, "192.0.2.7"}, // dual-stack listener, v4 client
        {"::ffff:127.0.0.1", false, 0, ""},
        {"2001:db8::7", true, AF_INET6, "2001:db8::7"},
        {"::1", false, 0, ""},
    };
    for (const auto& c : cases) {
        DialRequest r = *make_request(1, SOCK_STREAM, "127.0.0.1", 80);
        EXPECT_EQ(set_source(r, peer(c.client, 40000)), c.used) << c.client;
        EXPECT_EQ(r.src_family, c.family) << c.client;
        if (c.used) {
            EXPECT_EQ(source_of(r), c.source) << c.client;
            EXPECT_EQ(r.src_port, 40000) << c.client;
        }
    }
}

TEST(DialRequest, LoopbackPeers) {
    for (const char* ip : {"127.0.0.1", "127.5.6.7", "::1", "::ffff:127.0.0.1"})
        EXPECT_TRUE(is_loopback(peer(ip, 1))) << ip;
    for (const char* ip : {"192.0.2.7", "::ffff:192.0.2.7", "2001:db8::7", "::", "0.0.0.0"})
        EXPECT_FALSE(is_loopback(peer(ip, 1))) << ip;
    EXPECT_FALSE(is_loopback(sockaddr_storage{}));
}

std::string congestion_control(int fd) {
    char name[32] = {};
    socklen_t len = sizeof name;
    EXPECT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    return name;
}

// The child's side of the channel on a thread, against real sockets in this test's own
// network namespace; its destructor closes our end, which ends the thread.
class Dialer {
  public:
    Dialer() {
        int sp[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        ours_.reset(sp[0]);
        thread_ = std::thread([fd = sp[1]] {
            serve_dial_requests(fd, SourceRouting{}); // no routing set up in this namespace
            ::close(fd);
        });
    }
    ~Dialer() {
        ours_.reset();
        thread_.join();
    }
    std::pair<DialReply, std::vector<util::Fd>> ask(const DialRequest& req) {
        EXPECT_EQ(::send(ours_.get(), &req, sizeof req, 0), static_cast<ssize_t>(sizeof req));
        // 10 s at most: a dialer that never answers fails the test instead of hanging it.
        for (int i = 0; i < 10000; ++i) {
            auto r = read_reply(ours_.get());
            if (r) return std::move(*r);
            EXPECT_EQ(r.error().err, EAGAIN) << r.error().message();
            if (r.error().err != EAGAIN) break;
            ::usleep(1000);
        }
        ADD_FAILURE() << "no reply from the dialer";
        return {};
    }

  private:
    util::Fd ours_;
    std::thread thread_;
};

int option(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

TEST(DialChannel, SocketsComeInOneReplyNonBlockingWithFewSynRetries) {
    Dialer d;
    for (int family : {AF_INET, AF_INET6}) {
        auto [rep, fds] = d.ask(make_sockets_request(7, family, 5));
        EXPECT_EQ(rep.seq, 7u);
        EXPECT_EQ(rep.err, 0);
        ASSERT_EQ(fds.size(), 5u);
        for (const auto& fd : fds) {
            EXPECT_EQ(option(fd.get(), SOL_SOCKET, SO_DOMAIN), family);
            EXPECT_EQ(option(fd.get(), SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
            EXPECT_EQ(option(fd.get(), IPPROTO_TCP, TCP_SYNCNT), kSynRetries);
            // their peer is local: no pacing congestion control (port.bats checks this where
            // the namespace's default is bbr)
            EXPECT_TRUE(congestion_control(fd.get()) == "cubic" ||
                        congestion_control(fd.get()) == "reno")
                << congestion_control(fd.get());
            EXPECT_TRUE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK);
            EXPECT_TRUE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
        }
    }
    // asking for more than one reply carries gives the most one carries
    auto [rep, fds] = d.ask(make_sockets_request(8, AF_INET, 1000));
    EXPECT_EQ(fds.size(), static_cast<size_t>(kMaxSocketsPerReply));
}

TEST(DialChannel, ConnectAnswersWithAConnectedSocketOrTheErrno) {
    util::Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(listener.get(), 4), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    int port = ntohs(a.sin_port);

    Dialer d;
    auto [ok, fds] = d.ask(*make_request(1, SOCK_STREAM, "127.0.0.1", port));
    EXPECT_EQ(ok.err, 0);
    ASSERT_EQ(fds.size(), 1u);
    sockaddr_in peer{};
    len = sizeof peer;
    ASSERT_EQ(::getpeername(fds[0].get(), reinterpret_cast<sockaddr*>(&peer), &len), 0);
    EXPECT_EQ(ntohs(peer.sin_port), port);

    listener.reset(); // nothing listens there now
    auto [refused, none] = d.ask(*make_request(2, SOCK_STREAM, "127.0.0.1", port));
    EXPECT_EQ(refused.seq, 2u);
    EXPECT_EQ(refused.err, ECONNREFUSED);
    EXPECT_TRUE(none.empty());

    // a request the child does not understand is answered, not dropped
    DialRequest bad = make_sockets_request(3, AF_UNIX, 1);
    auto [inval, nothing] = d.ask(bad);
    EXPECT_EQ(inval.err, EINVAL);
    EXPECT_TRUE(nothing.empty());
}

// Sends a reply carrying `count` copies of `fd`, as the child would.
void send_reply_with(int sock, uint32_t seq, int fd, int count) {
    DialReply rep{seq, 0};
    iovec iov{&rep, sizeof rep};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * static_cast<size_t>(count)));
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * static_cast<size_t>(count));
    for (int i = 0; i < count; ++i)
        std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof fd);
    ASSERT_EQ(::sendmsg(sock, &msg, 0), static_cast<ssize_t>(sizeof rep));
}

// At the open-files limit the kernel delivers what fits and truncates the rest: the reply must
// still answer its request (its clients wait for it), with the fds that arrived or EMFILE.
TEST(DialChannel, OutOfFdsAReplyKeepsWhatArrivedOrSaysEmfile) {
    int sp[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
    util::Fd ours(sp[0]), child(sp[1]);
    util::Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    send_reply_with(child.get(), 1, devnull.get(), 10);
    send_reply_with(child.get(), 2, devnull.get(), 10);

    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
    rlimit low{128, old.rlim_max};
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<util::Fd> filler; // every free fd below the limit, but three
    for (int f; (f = ::fcntl(devnull.get(), F_DUPFD_CLOEXEC, 0)) >= 0;)
        filler.emplace_back(f);
    filler.resize(filler.size() - 3);
    auto some = read_reply(ours.get());
    auto none = read_reply(ours.get());
    ::setrlimit(RLIMIT_NOFILE, &old);

    ASSERT_TRUE(some) << some.error().message();
    EXPECT_EQ(some->first.seq, 1u);
    EXPECT_EQ(some->first.err, 0);
    EXPECT_EQ(some->second.size(), 3u);
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_EQ(none->first.seq, 2u);
    EXPECT_EQ(none->first.err, EMFILE);
    EXPECT_TRUE(none->second.empty());
}

} // namespace
} // namespace rk::port::builtin
