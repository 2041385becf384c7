// Purpose: propagation of / and a fresh /proc.
#include "child/mounts.hpp"

#include "util/log.hpp"

#include <sys/mount.h>

namespace rk::child {
using util::fail;
using util::sys_error;

util::Status apply_propagation(const std::string& mode) {
    unsigned long flags = 0;
    if (mode == "private")
        flags = MS_PRIVATE;
    else if (mode == "rprivate")
        flags = MS_PRIVATE | MS_REC;
    else if (mode == "shared")
        flags = MS_SHARED;
    else if (mode == "rshared")
        flags = MS_SHARED | MS_REC;
    else if (mode == "slave")
        flags = MS_SLAVE;
    else if (mode == "rslave")
        flags = MS_SLAVE | MS_REC;
    else
        return fail(util::plain_error("unknown propagation mode " + mode));
    if (::mount("none", "/", nullptr, flags, nullptr) != 0)
        return fail(sys_error("failed to set the propagation of / to " + mode));
    return {};
}

util::Status mount_proc() {
    const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (::mount("proc", "/proc", "proc", flags, nullptr) == 0) return {};
    int err = errno;
    if (::mount("proc", "/proc", "proc", flags | MS_RDONLY, nullptr) == 0) return {};
    auto e = sys_error(err, "failed to mount a new /proc for the PID namespace");
    if (err == EPERM)
        e.hint = "this /proc has read-only or masked parts (a container's) that the kernel will "
                 "not let a user namespace mount around, so the namespace keeps it; for "
                 "writable sysctls run the container with a writable /proc/sys: Docker "
                 "--security-opt systempaths=unconfined, systemd-nspawn --private-network";
    return fail(e);
}

} // namespace rk::child
