// Purpose: rootlesskit-docker-proxy (spec 12) - what Docker before v28 runs, inside our
// namespaces, as its "userland proxy" for `docker run -p`. It publishes the host side through
// the REST API and leaves the last hop (namespace -> container) to Docker's real docker-proxy.
//
// Theory of Operation
//   dockerd runs `rootlesskit-docker-proxy -proto P -host-ip H -host-port N -container-ip C
//   -container-port M` with fd 3 as a status pipe: "0\n" means started, "1\n<text>" failed.
//   1. GET /v1/info on $ROOTLESSKIT_STATE_DIR/api.sock.
//   2. No port driver, or one that needs no help (none, implicit): exec the real docker-proxy
//      with the same arguments - it listens inside the namespace and that is all there is.
//   3. Otherwise P becomes P4/P6 by H's family. A family the driver lacks (tcp6 on slirp4netns)
//      is skipped: "0\n" and exit 0, as upstream (#250).
//   4. POST /v1/ports {P4|P6, H, N, child IP, N}; the child IP is loopback unless the driver
//      refuses loopback targets, then the network's own address.
//   5. Run the real docker-proxy with -host-ip <child IP>, fd 3 passed on: it writes "0\n"
//      once it listens. SIGINT/SIGTERM go to it; when it ends, DELETE the port and exit with
//      its status.
#pragma once

#include <string>
#include <vector>

namespace rk::ctl {

// Runs the proxy; returns the exit code.
int docker_proxy_main(const std::vector<std::string>& args);

} // namespace rk::ctl
