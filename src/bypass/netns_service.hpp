// Purpose: the child's half of the socket bypass: it owns CAP_SYS_ADMIN in the user namespace,
// so it makes rtnetlink sockets inside network namespaces for the parent (which can name a
// namespace, from a caller's socket, but not enter it). See channel.hpp for the frames.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

namespace rk::bypass {

// Sends the Home frame: an rtnetlink socket in `home_netns` (an fd; -1: the caller's own
// network namespace). Before the target starts.
util::Status send_home(int sock, int home_netns);

// Answers Query frames until the parent closes the channel, then closes `sock`.
// Runs on a thread of its own (it switches that thread's network namespace per query and back
// to `home_netns`, if given, else to the one it started in). A thread that cannot switch back
// stops serving; the process goes on.
void serve_queries(util::Fd sock, util::Fd home_netns);

} // namespace rk::bypass
