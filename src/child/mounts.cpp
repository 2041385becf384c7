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
    return fail(sys_error(err, "failed to mount a new /proc for the PID namespace"));
}

} // namespace rk::child
