// Purpose: network namespaces detached from the calling process (--detach-netns): made and
// used on short-lived threads, because a network namespace belongs to a thread and a process
// inside a user namespace cannot setns() back into the host's network namespace.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <functional>
#include <string>

namespace rk::sys {

// Creates a new network namespace (owned by the caller's user namespace) and bind-mounts it
// on `path`, an empty 0400 file created here (O_EXCL). Returns an fd to the namespace. The
// calling thread stays where it is.
util::Result<util::Fd> create_bound_netns(const std::string& path);

// Runs fn() on a thread that has joined the network namespace `nsfd` and returns its result.
// With nsfd < 0, runs fn() on the calling thread.
util::Status run_in_netns(int nsfd, const std::function<util::Status()>& fn);

} // namespace rk::sys
