// Purpose: the parent's half of the socket bypass (--socket-bypass): it serves the connect()
// notifications of the command's seccomp filter on the event loop and, for a TCP connection
// to a destination outside every network of the namespaces, makes the socket in the host's
// network namespace and puts it in place of the caller's.
//
// Theory of Operation
//   The command's process installs the filter (kernel.hpp) before exec, so it and everything
//   it starts (a daemon, its containers) raise a notification for each connect(). The
//   listener is read only after poll() says a notification is pending, and a hang-up (no
//   process left under the filter) closes it: the event loop never waits in the kernel. Per
//   notification, everything the decision reads of the caller is copied first and the
//   notification id is checked after the last read, so a tid reused in between is never
//   acted on:
//     1. the sockaddr, from the caller's memory: anything but AF_INET/AF_INET6, a port 0 or a
//        destination in never_ranges (loopback, the rootlesskit network's CIDR, ...) continues;
//     2. the caller's socket (pidfd_getfd through a pidfd whose fd table is the calling
//        thread's, caller.hpp): only an unconnected TCP socket not bound to a specific address
//        goes on; its fd flags (O_NONBLOCK, close-on-exec) from fdinfo;
//     3. the socket's network namespace (SIOCGSKNS) and one route lookup there, through an
//        rtnetlink socket the child made in that namespace (we cannot enter it; the child can):
//        the destination must be reached through a gateway. Then the same lookup in the
//        namespace the command started in ("home", where the network driver's interface is),
//        when the caller's is another one (a container's): a subnet of another container
//        network is on-link there. With --disable-host-loopback, a host-local destination
//        (a route of type local in our own namespace) continues too;
//     4. our socket: the caller's options carried over (options.hpp), bound to the
//        caller's port if it had bound one, connected without blocking, and installed at the
//        caller's fd number (SECCOMP_IOCTL_NOTIF_ADDFD with SETFD) once kcmp shows that number
//        still names the socket we copied (a sibling thread may have replaced it). A non-blocking
//        caller gets the result at once (EINPROGRESS as usual). A blocking one continues its own
//        connect() in the kernel on our connecting socket, which waits with the caller's signals
//        and reads no address; callers with a send timeout are not bypassed (their timeout would
//        say EALREADY). A failed connect returns its errno and installs nothing, so the
//        caller's socket stays as it was.
//   Anything that fails on the way (a dead caller, fd exhaustion, an option the host refuses)
//   lets the call continue in the kernel as if there were no bypass. Calls waiting for the
//   child's rtnetlink socket of a new namespace continue after 2 s without an answer. If the
//   parent dies, the listener closes and every waiting connect() fails with ENOSYS.
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
    uint64_t bypassed = 0; // connections made from the host and installed
    uint64_t failed = 0;   // bypassed connects that failed (their errno returned)
    uint64_t passed = 0;   // connect() calls left to the kernel
};

class Supervisor {
  public:
    // `channel`: the parent's end of the bypass channel (channel.hpp).
    static util::Result<std::unique_ptr<Supervisor>> start(boost::asio::io_context& io,
                                                           util::Fd channel, Config cfg);
    ~Supervisor();
    Stats stats() const;

    struct Impl;

  private:
    explicit Supervisor(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace rk::bypass
