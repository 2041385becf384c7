// Purpose: passing one file descriptor over a unix socket (SCM_RIGHTS), with a one-byte body.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

namespace rk::sys {

util::Status send_fd(int sock, int fd);
// Waits up to `timeout_ms` for a descriptor on `sock`.
util::Result<util::Fd> recv_fd(int sock, int timeout_ms);

} // namespace rk::sys
