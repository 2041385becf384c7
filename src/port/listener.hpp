// Purpose: host-side sockets of the port drivers (the builtin driver listens on them; pesto
// binds one once to check a port is free): a listener bound with upstream's family
// rules (Go's net.Listen, spec 7.2; Go's "address already in use" text, the privileged-port
// hint), and the port a bound socket got (parentPort 0).
#pragma once

#include "port/spec.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <string>

namespace rk::port {

// A non-blocking, close-on-exec socket bound to the spec's parent address and port (listening,
// for TCP).
util::Result<util::Fd> make_listener(const PortSpec& spec);

// The fix for publishing host port `port` (0: any port) below net.ipv4.ip_unprivileged_port_start
// (`current`): one piece of advice wherever it is given (the bind error below, and
// rootless-setuptool check).
std::string privileged_port_fix(int port, long current);

// The port a bound socket got.
util::Result<int> local_port(const util::Fd& fd);

} // namespace rk::port
