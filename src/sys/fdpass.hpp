// Purpose: unix-socket helpers: connecting to a path, and passing one file descriptor
// (SCM_RIGHTS) with a message of its own or a one-byte body.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <string>

namespace rk::sys {

// A connected SOCK_STREAM socket to `path` (errors name the path; a path too long for
// sun_path says to shorten --state-dir).
util::Result<util::Fd> connect_unix(const std::string& path);

// Sends `len` bytes of `data` with `fd` attached (none if fd < 0); all or an error.
util::Status send_with_fd(int sock, const void* data, size_t len, int fd);
// The same with syscalls only (no allocation: usable in a vfork child): 0, or -1 with errno.
int send_with_fd_raw(int sock, const void* data, size_t len, int fd);
// One message into `data` (at most `len` bytes) and the descriptor that came with it, if any
// (close-on-exec). `flags` go to recvmsg (e.g. MSG_DONTWAIT). `truncated`: the message or its
// control data did not fit.
struct Received {
    size_t size = 0;
    util::Fd fd;
    bool truncated = false;
};
util::Result<Received> recv_with_fd(int sock, void* data, size_t len, int flags);

util::Status send_fd(int sock, int fd);
// Waits up to `timeout_ms` for a descriptor on `sock`.
util::Result<util::Fd> recv_fd(int sock, int timeout_ms);

} // namespace rk::sys
