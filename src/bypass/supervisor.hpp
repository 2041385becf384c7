// Purpose: the parent's half of the socket bypass (--socket-bypass): it serves the connect()
// notifications of the command's seccomp filter and, for a TCP connection to a destination
// outside every network of the namespaces, makes the socket in the host's network namespace and
// puts it in place of the caller's.
//
// Theory of Operation
//   The command's process installs the filter (kernel.hpp) before exec, so it and everything
//   it starts (a daemon, its containers) raise a notification for each connect() with an IPv4
//   or IPv6 address length. Workers of their own (kWorkers threads) wait in the receive ioctl
//   and carry each connect's whole exchange themselves, with the kernel's synchronous wake-ups
//   where it has them (6.6): the event loop, which keeps the API and the child's channel, is
//   never woken per connect. Per notification, everything the decision reads of the caller is
//   copied first and the notification id is checked after the last read, so a tid reused in
//   between is never acted on:
//     1. the sockaddr, from the caller's memory: anything but AF_INET/AF_INET6, a port 0 or a
//        destination in never_ranges (loopback, the rootlesskit network's CIDR, ...) continues;
//     2. the caller's socket (pidfd_getfd through a pidfd whose fd table is the calling
//        thread's, caller.hpp; kept per thread where pidfds name threads, 6.9): only an
//        unconnected TCP socket not bound to a specific address goes on;
//     3. the socket's network namespace (its cookie) and the route to the destination there,
//        through an rtnetlink socket the child made in that namespace (we cannot enter it; the
//        child can; routes.hpp remembers answers until the namespace changes): the destination
//        must be reached through a gateway. Then the same in the namespace the command started
//        in ("home", where the network driver's interface is), when the caller's is another one
//        (a container's): a subnet of another container network is on-link there. With
//        --disable-host-loopback, a host-local destination (a route of type local in our own
//        namespace) continues too. A container's namespace must also have reached the
//        destination the usual way once (evidence.hpp). Then the caller's fd flags (fdinfo);
//     4. our socket: the caller's options carried over (options.hpp), bound to the
//        caller's port if it had bound one, connected without blocking, and installed at the
//        caller's fd number (SECCOMP_IOCTL_NOTIF_ADDFD with SETFD) once kcmp shows that number
//        still names the socket we copied (a sibling thread may have replaced it). A non-blocking
//        caller gets the result at once (EINPROGRESS as usual). A blocking one continues its own
//        connect() in the kernel on our connecting socket, which waits with the caller's signals
//        and reads no address; callers with a send timeout are not bypassed (their timeout would
//        say EALREADY). A failed connect returns its errno and installs nothing, so the
//        caller's socket stays as it was. How a connection still under way ends is learnt by
//        the watcher (watcher.hpp), for the counters.
//   Anything that fails on the way (a dead caller, fd exhaustion, an option the host refuses)
//   lets the call continue in the kernel as if there were no bypass. The first call from a
//   namespace not seen for 30 s waits for the child's rtnetlink socket there (decided on the
//   event loop when it comes) and continues after 2 s without one. If the parent dies, the
//   listener closes and every waiting connect() fails with ENOSYS.
#pragma once

#include "bypass/policy.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <vector>

namespace rk::bypass {

struct Config {
    std::vector<Prefix> never; // never_ranges(...)
    bool disable_host_loopback = false;
};

struct Stats {
    uint64_t bypassed = 0; // connections made from the host, installed and established
    uint64_t failed = 0;   // bypassed connects that failed: at once (the errno returned), or
                           // later (refused, unreachable, not established within 30 s)
    uint64_t passed = 0;   // trapped connect() calls left to the kernel
};

class Supervisor {
  public:
    // `channel`: the parent's end of the bypass channel (channel.hpp), read on `io`.
    static util::Result<std::unique_ptr<Supervisor>> start(boost::asio::io_context& io,
                                                           util::Fd channel, Config cfg);
    ~Supervisor(); // stops and joins the workers
    // Measured on 2 cores (bench/bypass.sh): 4 callers connecting at once went 21k -> 25k
    // connections/s from 2 workers to 4 (a worker waits while the caller installs the fd),
    // one caller was unchanged, and 8 or 16 were slower again.
    static constexpr int kWorkers = 4;
    Stats stats() const;

    struct Impl;

  private:
    explicit Supervisor(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace rk::bypass
