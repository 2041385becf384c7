// Purpose: unix-socket helpers: connecting to a path, and passing one file descriptor
// (SCM_RIGHTS) with a message of its own or a one-byte body.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <span>
#include <string>
#include <vector>

namespace rk::sys {

// A connected SOCK_STREAM socket to `path` (errors name the path; a path too long for
// sun_path says to shorten --state-dir).
util::Result<util::Fd> connect_unix(const std::string& path);

// The most descriptors one message carries here (the builtin port driver's dial replies).
constexpr size_t kMaxPassedFds = 64;

// Sends `len` bytes of `data` with `fd` attached (none if fd < 0); all or an error.
util::Status send_with_fd(int sock, const void* data, size_t len, int fd);
// The same with syscalls only (no allocation: usable in a vfork child): 0, or -1 with errno.
int send_with_fd_raw(int sock, const void* data, size_t len, int fd);
// `len` bytes of `data` with the descriptors `fds` (at most kMaxPassedFds; none if empty), with
// syscalls only: 0, or -1 with errno (EMSGSIZE for a short send, EINVAL for too many fds).
int send_with_fds_raw(int sock, const void* data, size_t len, std::span<const int> fds);
// One message into `data` (at most `len` bytes) and the descriptor that came with it, if any
// (close-on-exec). `flags` go to recvmsg (e.g. MSG_DONTWAIT). `truncated`: the message or its
// control data did not fit.
struct Received {
    size_t size = 0;
    util::Fd fd;
    bool truncated = false;
};
util::Result<Received> recv_with_fd(int sock, void* data, size_t len, int flags);
// The same for a message with up to kMaxPassedFds descriptors: every one that arrived is owned
// by `fds` before anything else is looked at (a malformed message leaks none). `fds_truncated`
// (MSG_CTRUNC): the kernel could not install them all (the process ran out of descriptors).
struct ReceivedMany {
    size_t size = 0;
    std::vector<util::Fd> fds;
    bool truncated = false, fds_truncated = false;
};
util::Result<ReceivedMany> recv_with_fds(int sock, void* data, size_t len, int flags);

util::Status send_fd(int sock, int fd);
// Waits up to `timeout_ms` for a descriptor on `sock`.
util::Result<util::Fd> recv_fd(int sock, int timeout_ms);

} // namespace rk::sys
