// Purpose: the sandbox of the embedded network process, entered after set-up and before the
// first packet: no new privileges; Landlock limits the file system to reading /etc (and the
// directory /etc/resolv.conf points into) and, where the kernel has scopes, forbids abstract
// unix sockets and signals to outside processes; a seccomp filter (libseccomp) allows only the
// system calls libslirp's loop makes - socket() only for IPv4/IPv6, open only read-only, ioctl
// only FIONREAD - and kills the process on anything else.
#pragma once

#include "util/error.hpp"

#include <cerrno>

namespace rk::netd {

// What enter_sandbox put in place.
struct Sandbox {
    bool landlock = false; // false only when the caller allowed running without it
};

// Enters the sandbox for good. Without Landlock in the kernel this fails (one line naming the
// fixes) unless `allow_without_landlock`, in which case seccomp alone is entered. After
// Landlock is in force, a probe checks that it is: opening "/" must be refused.
util::Result<Sandbox> enter_sandbox(bool allow_without_landlock);

// The errno a disallowed open mode or ioctl request gets from the seccomp filter (EPERM, so
// that it can be told apart from Landlock's EACCES).
inline constexpr int kSeccompDenied = EPERM;

} // namespace rk::netd
