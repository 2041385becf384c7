// Purpose: the socket bypass's view of its callers (bypass/caller), the options it carries to
// its own socket (bypass/options), its route answers (bypass/routes), how the watcher reads a
// connection's outcome (bypass/watcher), and the supervisor's end when no process is left
// under the filter or while its workers wait - with real threads, sockets, network namespaces
// and seccomp listeners.
#include "bypass/caller.hpp"
#include "bypass/channel.hpp"
#include "bypass/kernel.hpp"
#include "bypass/options.hpp"
#include "bypass/routes.hpp"
#include "bypass/supervisor.hpp"
#include "bypass/watcher.hpp"
#include "sys/netlink.hpp"
#include "sys/syscalls.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <fcntl.h>
#include <future>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>
#include <mutex>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace rk::bypass {
namespace {

TEST(BypassCaller, ParsesTgid) {
    EXPECT_EQ(parse_tgid("Name:\tx\nUmask:\t0022\nState:\tS\nTgid:\t4242\nPid:\t4243\n"), 4242);
    EXPECT_EQ(parse_tgid("Tgid: 7"), 7);
    EXPECT_FALSE(parse_tgid("Tgid:\t\n"));
    EXPECT_FALSE(parse_tgid("Tgid:\t-3\n"));
    EXPECT_FALSE(parse_tgid("Tgid:\t0\n"));
    EXPECT_FALSE(parse_tgid("Tgid:\t99999999999999999999\n"));
    EXPECT_FALSE(parse_tgid("NotTgid:\t12\nTgidx:\t5\n"));
    EXPECT_FALSE(parse_tgid(""));
}

TEST(BypassCaller, ParsesFdinfoFlags) {
    auto f = parse_fdinfo_flags("pos:\t0\nflags:\t02004002\nmnt_id:\t9\n");
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->nonblock);
    EXPECT_TRUE(f->cloexec);
    f = parse_fdinfo_flags("pos:\t0\nflags:\t02\n");
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->nonblock);
    EXPECT_FALSE(f->cloexec);
    EXPECT_FALSE(parse_fdinfo_flags("flags:\t089\n")); // not octal
    EXPECT_FALSE(parse_fdinfo_flags("pos:\t0\n"));
}

// A thread of this process that sits until told to go, with its tid.
class Sibling {
  public:
    explicit Sibling(bool own_fd_table) {
        t_ = std::thread([this, own_fd_table] {
            if (own_fd_table) ::unshare(CLONE_FILES);
            tid_.set_value(::gettid());
            std::unique_lock l(m_);
            cv_.wait(l, [this] { return done_; });
        });
        tid = tid_.get_future().get();
    }
    ~Sibling() {
        {
            std::lock_guard l(m_);
            done_ = true;
        }
        cv_.notify_all();
        t_.join();
    }
    pid_t tid;

  private:
    std::promise<pid_t> tid_;
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread t_;
};

// Through the pidfd open_caller gives, our own socket comes back as the same open file.
void expect_reads_our_table(pid_t tid, ThreadPidfd mode) {
    util::Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(s);
    util::Fd pidfd = open_caller(tid, mode);
    ASSERT_TRUE(pidfd) << std::strerror(errno);
    util::Fd copy(pidfd_getfd(pidfd.get(), s.get()));
    ASSERT_TRUE(copy) << std::strerror(errno);
    EXPECT_TRUE(same_file(tid, s.get(), copy.get()));
}

TEST(BypassCaller, OpensAThreadThatIsNotTheLeaderWithAndWithoutPidfdThread) {
    Sibling sib(false);
    ASSERT_NE(sib.tid, ::getpid());
    // The path of kernels before 6.9 (the group's pidfd, after kcmp), on every kernel.
    expect_reads_our_table(sib.tid, ThreadPidfd::Unsupported);
    if (probe_thread_pidfd() == ThreadPidfd::Supported)
        expect_reads_our_table(sib.tid, ThreadPidfd::Supported);
    // And the leader itself.
    expect_reads_our_table(::getpid(), ThreadPidfd::Unsupported);
}

TEST(BypassCaller, RefusesAThreadWithAFdTableOfItsOwnBefore69) {
    Sibling sib(true); // unshare(CLONE_FILES): the leader's table is not the caller's
    errno = 0;
    EXPECT_FALSE(open_caller(sib.tid, ThreadPidfd::Unsupported));
    EXPECT_EQ(errno, ESRCH);
}

TEST(BypassCaller, GoneIsInvalid) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int st;
    ::waitpid(pid, &st, 0);
    EXPECT_FALSE(open_caller(pid, ThreadPidfd::Unsupported));
    EXPECT_EQ(netns_inode_of(pid), 0u);
}

TEST(BypassCaller, SameFileTellsAReplacedFd) {
    util::Fd a(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    util::Fd b(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    util::Fd a2(::fcntl(a.get(), F_DUPFD_CLOEXEC, 0));
    EXPECT_TRUE(same_file(::gettid(), a.get(), a2.get()));
    EXPECT_FALSE(same_file(::gettid(), b.get(), a2.get()));
}

TEST(BypassCaller, ReadsFdFlags) {
    util::Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    auto f = read_fd_flags(::gettid(), s.get());
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->nonblock);
    EXPECT_TRUE(f->cloexec);
    util::Fd t(::socket(AF_INET, SOCK_STREAM, 0));
    f = read_fd_flags(::gettid(), t.get());
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->nonblock);
    EXPECT_FALSE(f->cloexec);
}

int get_int(int fd, int level, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    EXPECT_EQ(::getsockopt(fd, level, name, &v, &l), 0);
    return v;
}

TEST(BypassOptions, CarriesWhatDiffersFromAFreshSocket) {
    OptionDefaults d;
    ASSERT_TRUE(d.load(AF_INET));
    util::Fd from(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    util::Fd to(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1, idle = 77, buf = 50000;
    ::setsockopt(from.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(from.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    ::setsockopt(from.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(from.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    EXPECT_EQ(d.carry(from.get(), to.get(), AF_INET, true), CarryResult::Carried);
    EXPECT_EQ(get_int(to.get(), IPPROTO_TCP, TCP_NODELAY), 1);
    EXPECT_EQ(get_int(to.get(), SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(get_int(to.get(), IPPROTO_TCP, TCP_KEEPIDLE), 77);
    // set once, doubled once by the kernel: the same value on both
    EXPECT_EQ(get_int(to.get(), SOL_SOCKET, SO_SNDBUF), get_int(from.get(), SOL_SOCKET, SO_SNDBUF));
}

TEST(BypassOptions, KeepaliveTimersOnlyWithKeepalive) {
    OptionDefaults d;
    ASSERT_TRUE(d.load(AF_INET));
    util::Fd from(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    util::Fd to(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int idle = 77;
    ::setsockopt(from.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    const int before = get_int(to.get(), IPPROTO_TCP, TCP_KEEPIDLE);
    EXPECT_EQ(d.carry(from.get(), to.get(), AF_INET, false), CarryResult::Carried);
    EXPECT_EQ(get_int(to.get(), IPPROTO_TCP, TCP_KEEPIDLE), before);
}

TEST(BypassOptions, ABlockingCallerWithASendTimeoutIsNotBypassed) {
    OptionDefaults d;
    ASSERT_TRUE(d.load(AF_INET));
    util::Fd from(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    util::Fd to(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval tv{0, 300000};
    ::setsockopt(from.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    EXPECT_EQ(d.carry(from.get(), to.get(), AF_INET, true), CarryResult::BlockingWithTimeout);
    EXPECT_EQ(d.carry(from.get(), to.get(), AF_INET, false), CarryResult::Carried);
}

TEST(BypassOptions, AnOptionTheHostRefusesRefusesTheBypass) {
    OptionDefaults d;
    ASSERT_TRUE(d.load(AF_INET6));
    // An IPv6 option carried onto an IPv4 socket: the kernel refuses it.
    util::Fd from(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    util::Fd to(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int tclass = 0x20;
    ASSERT_EQ(::setsockopt(from.get(), IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof tclass), 0);
    EXPECT_EQ(d.carry(from.get(), to.get(), AF_INET6, false), CarryResult::Refused);
}

// A process under the bypass filter that sent its listener after a Home frame, as the
// target does; it exits at once, or with `stay` waits until killed. `parent_end` is the
// supervisor's end of the channel; pid -1 if it could not be made.
struct Filtered {
    util::Fd parent_end;
    pid_t pid = -1;
};
Filtered start_filtered(bool stay) {
    auto filter = build_filter();
    int sv[2];
    if (!filter || ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return {};
    util::Fd parent_end(sv[0]), child_end(sv[1]);
    if (!send_frame(child_end.get(), Frame{Tag::Home}, -1)) return {};
    sock_fprog prog = fprog(*filter);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        int l = install_filter(&prog);
        if (l < 0 || send_listener(child_end.get(), l) != 0) ::_exit(1);
        if (stay) ::pause(); // under the filter until killed
        ::_exit(0);
    }
    return {std::move(parent_end), pid};
}

// The supervisor ends its listener when the last process under the filter is gone, and never
// blocks its event loop in RECV: io_context::run() returns once nothing else is left to do.
TEST(BypassSupervisor, EndsWhenNoProcessIsLeftUnderTheFilter) {
    auto [parent_end, pid] = start_filtered(false);
    ASSERT_GT(pid, 0);
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid); // the filter's last user is gone: POLLHUP
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    boost::asio::io_context io;
    auto sup = Supervisor::start(io, std::move(parent_end), Config{});
    ASSERT_TRUE(sup);
    std::promise<void> ran;
    auto ready = ran.get_future();
    std::thread loop([&] {
        io.run();
        ran.set_value();
    });
    if (ready.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        // The loop cannot be stopped from here: report and end the test binary.
        std::fprintf(stderr, "BypassSupervisor.EndsWhenNoProcessIsLeftUnderTheFilter: the event "
                             "loop is still running 10 s after the filter's last process ended\n");
        std::_Exit(1);
    }
    loop.join();
}

// The supervisor stops its workers while they wait in the receive ioctl for a process that is
// still under the filter (on every kernel: before 6.6 that wait has no other way out).
TEST(BypassSupervisor, StopsItsWorkersWhileTheyWait) {
    auto [parent_end, pid] = start_filtered(true);
    ASSERT_GT(pid, 0);
    boost::asio::io_context io;
    auto sup = Supervisor::start(io, std::move(parent_end), Config{});
    ASSERT_TRUE(sup);
    // The Listener frame starts the workers.
    io.run_for(std::chrono::milliseconds(300));
    std::promise<void> done;
    auto stopped = done.get_future();
    std::thread stopper([&] {
        sup->reset();
        done.set_value();
    });
    const bool in_time = stopped.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (!in_time) {
        std::fprintf(stderr,
                     "BypassSupervisor.StopsItsWorkersWhileTheyWait: not stopped in 10 s\n");
        std::_Exit(1);
    }
    stopper.join();
}

// Route answers are remembered until the namespace changes, whoever changes it.
TEST(BypassRoutes, RemembersAnswersUntilTheNamespaceChanges) {
    std::string skip;
    std::thread t([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            skip = "environment: no CAP_SYS_ADMIN to make a network namespace (run as root)";
            return;
        }
        NetnsRoutes routes(util::Fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)));
        ASSERT_TRUE(routes.caching());
        ASSERT_TRUE(sys::netlink::loopback_up());
        const auto dst = *sys::parse_ip("198.18.7.7");
        const uint64_t before = routes.lookups();
        Route none = routes.lookup(dst); // no route at all here
        EXPECT_EQ(none.error, ENETUNREACH);
        EXPECT_EQ(routes.lookup(dst).error, ENETUNREACH);
        EXPECT_EQ(routes.lookups(), before + 1) << "the second answer came from memory";
        // A change made by someone else (our own netlink requests here): a gateway route.
        ASSERT_TRUE(sys::netlink::addr_add(1, "10.77.0.1", 24, "lo"));
        ASSERT_TRUE(sys::netlink::route_add_default(1, "10.77.0.2", "lo"));
        EXPECT_EQ(routes.lookup(dst).error, 0) << "the change dropped what was remembered";
        EXPECT_EQ(routes.lookups(), before + 2);
        EXPECT_EQ(routes.lookup(dst).error, 0);
        EXPECT_EQ(routes.lookups(), before + 2);
    });
    t.join();
    if (!skip.empty()) GTEST_SKIP() << skip;
}

// The watcher's reading of a connection: refused is failed, a connection the server closed at
// once (or reset) is established, one not started yet is pending - from real sockets.
TEST(BypassWatcher, ClassifiesRealConnections) {
    util::Fd server(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    ASSERT_EQ(::bind(server.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::getsockname(server.get(), reinterpret_cast<sockaddr*>(&a), &al), 0);
    auto connect_to = [&](const sockaddr_in& to) {
        util::Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        (void)::connect(c.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to);
        return c;
    };
    // Not started.
    util::Fd fresh(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(classify(*tcp_progress(fresh.get()), false), Outcome::Pending);
    // Refused: nobody listens yet. A blocking connect that failed looks like one not started,
    // unless we know it started.
    util::Fd refused = connect_to(a);
    EXPECT_EQ(classify(*tcp_progress(refused.get()), true), Outcome::Failed);
    EXPECT_EQ(classify(*tcp_progress(refused.get()), false), Outcome::Pending);
    // Non-blocking: the reset stays counted.
    util::Fd nb(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    (void)::connect(nb.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
    for (int i = 0; i < 100 && tcp_progress(nb.get())->state != TCP_CLOSE; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(classify(*tcp_progress(nb.get()), false), Outcome::Failed);
    ASSERT_EQ(::listen(server.get(), 8), 0);
    // Closed at once by the server (FIN), and reset at once (SO_LINGER 0).
    for (bool reset : {false, true}) {
        util::Fd c = connect_to(a);
        util::Fd s(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
        ASSERT_TRUE(s);
        if (reset) {
            linger l{1, 0};
            ::setsockopt(s.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        s.reset();
        for (int i = 0; i < 100; ++i) { // the FIN or RST is processed at once on loopback
            auto p = tcp_progress(c.get());
            if (p->state != TCP_ESTABLISHED) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        auto p = tcp_progress(c.get());
        EXPECT_EQ(p->state, reset ? TCP_CLOSE : TCP_CLOSE_WAIT);
        EXPECT_EQ(classify(*p, false), Outcome::Established) << (reset ? "reset" : "closed");
    }
}
} // namespace
} // namespace rk::bypass
