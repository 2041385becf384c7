// Purpose: the sandbox of the embedded network process, entered after set-up and before the
// first packet: no new privileges; Landlock (where the kernel has it) limits the file system
// to reading /etc (and the directory /etc/resolv.conf points into) and forbids abstract unix
// sockets and signals to outside processes; a seccomp filter (libseccomp) allows only the
// system calls libslirp's loop makes, socket() only for IPv4/IPv6, and kills the process on
// anything else.
#pragma once

#include "util/error.hpp"

namespace rk::netd {

// Returns a warning text when Landlock is unavailable (the seccomp part is mandatory).
util::Result<std::string> enter_sandbox();

} // namespace rk::netd
