// Purpose: the child's half of the socket bypass (see netns_service.hpp).
#include "bypass/netns_service.hpp"

#include "bypass/channel.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/thread.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

namespace rk::bypass {
using util::fail;
using util::Fd;
namespace log = util::log;

namespace {

Fd netlink_socket() {
    return Fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
}

// An rtnetlink socket made in `ns` by the calling thread, which returns to `own` afterwards.
// `stranded` is set when it could not return: this thread is then in another namespace, and
// nothing it makes from now on can be trusted.
util::Result<Fd> netlink_socket_in(int ns, int own, bool& stranded) {
    if (::setns(ns, CLONE_NEWNET) != 0) return fail(util::sys_error("setns"));
    Fd s = netlink_socket();
    int err = s ? 0 : errno;
    if (::setns(own, CLONE_NEWNET) != 0) {
        stranded = true;
        return fail(util::sys_error("socket bypass: cannot return to our network namespace"));
    }
    if (!s) return fail(util::sys_error(err, "socket(AF_NETLINK)"));
    return s;
}

} // namespace

util::Status send_home(int sock, int home_netns) {
    Fd s;
    if (home_netns < 0) {
        s = netlink_socket();
        if (!s) return fail(util::sys_error("socket bypass: socket(AF_NETLINK)"));
    } else {
        // On a thread that ends there: with --detach-netns we are in the host's namespace,
        // which we could not enter again.
        int err = 0;
        RK_TRY(util::run_on_thread("the socket bypass", [&] {
            if (::setns(home_netns, CLONE_NEWNET) != 0) {
                err = errno;
                return;
            }
            s = netlink_socket();
            if (!s) err = errno;
        }));
        if (!s)
            return fail(util::sys_error(err, "socket bypass: an rtnetlink socket in the "
                                             "detached network namespace"));
    }
    return send_frame(sock, Frame{Tag::Home}, s.get());
}

void serve_queries(Fd sock, Fd home_netns) {
    // Our end of the channel closes when this thread stops serving, whatever the reason: once
    // the target's copy is gone too (close-on-exec), the parent sees EOF and lets every call
    // through instead of waiting 2 s for each. The child (the namespace's init) goes on.
    // With --detach-netns this thread lives in the detached namespace: it can return there
    // after each query (the host's namespace it could not enter again).
    if (home_netns && ::setns(home_netns.get(), CLONE_NEWNET) != 0) {
        log::error("socket bypass: cannot join the detached network namespace: {}",
                   std::strerror(errno));
        return;
    }
    home_netns.reset();
    Fd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!own) {
        log::error("socket bypass: open /proc/thread-self/ns/net: {}", std::strerror(errno));
        return;
    }
    for (;;) {
        pollfd p{sock.get(), POLLIN, 0};
        if (sys::retry_eintr([&] { return ::poll(&p, 1, -1); }) < 0) return;
        auto r = recv_frame(sock.get());
        if (!r) {
            if (r.error().err == EAGAIN) continue;
            return; // the parent is gone, or sent garbage
        }
        if (r->frame.tag != Tag::Query || !r->fd) continue;
        Frame reply{Tag::Reply};
        reply.key = r->frame.key;
        bool stranded = false;
        auto s = netlink_socket_in(r->fd.get(), own.get(), stranded);
        if (stranded) {
            log::error("{}; the socket bypass stops here", s.error().message());
            return;
        }
        reply.err = s ? 0 : (s.error().err ? s.error().err : EIO);
        if (!send_frame(sock.get(), reply, s ? s->get() : -1)) return;
    }
}

} // namespace rk::bypass
