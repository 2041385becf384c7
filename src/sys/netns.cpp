// Purpose: detached network namespaces (see netns.hpp).
#include "sys/netns.hpp"

#include "util/thread.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <thread>
#include <unistd.h>

namespace rk::sys {
using util::fail;
using util::sys_error;

util::Result<util::Fd> create_bound_netns(const std::string& path) {
    util::Fd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400));
    if (!file) return fail(sys_error("cannot create " + path));
    file.reset();
    util::Result<util::Fd> result = fail(util::plain_error("netns thread did not run"));
    // The thread's namespace lives on through the bind mount (and the returned fd) after the
    // thread has gone.
    RK_TRY(util::run_on_thread("a new network namespace", [&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            result = fail(sys_error("cannot create a network namespace (unshare)"));
            return;
        }
        util::Fd ns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        if (!ns) {
            result = fail(sys_error("cannot open /proc/thread-self/ns/net"));
            return;
        }
        if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            result = fail(sys_error("cannot bind-mount the network namespace on " + path));
            return;
        }
        result = std::move(ns);
    }));
    if (!result) ::unlink(path.c_str());
    return result;
}

util::Status run_in_netns(int nsfd, const std::function<util::Status()>& fn) {
    if (nsfd < 0) return fn();
    util::Status result;
    RK_TRY(util::run_on_thread("the detached network namespace", [&] {
        if (::setns(nsfd, CLONE_NEWNET) != 0) {
            result = fail(sys_error("cannot join the detached network namespace (setns)"));
            return;
        }
        result = fn();
    }));
    return result;
}

} // namespace rk::sys
