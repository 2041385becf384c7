// Purpose: unix-socket helpers: connecting to a path, and passing one file descriptor
// (SCM_RIGHTS, with a one-byte body).
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <string>

namespace rk::sys {

// A connected SOCK_STREAM socket to `path` (errors name the path; a path too long for
// sun_path says to shorten --state-dir).
util::Result<util::Fd> connect_unix(const std::string& path);

util::Status send_fd(int sock, int fd);
// Waits up to `timeout_ms` for a descriptor on `sock`.
util::Result<util::Fd> recv_fd(int sock, int timeout_ms);

} // namespace rk::sys
