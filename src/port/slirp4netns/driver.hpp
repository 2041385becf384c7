// Purpose: --port-driver=slirp4netns - ports forwarded by slirp4netns itself (libslirp's
// hostfwd), driven through its JSON API socket ($STATE_DIR/.s4nn.sock). Also
// --port-driver=gvisor-tap-vsock, through rootlesskit-netd's socket of the same protocol.
#pragma once

#include "port/driver.hpp"

#include <memory>

namespace rk::port::slirp4netns {

// The request text for add_hostfwd (spec 7.4); errors for protocols and addresses slirp4netns
// cannot forward. `default_child_ip` is the namespace's address (10.0.2.100).
util::Result<std::string> add_request(const PortSpec& spec, const std::string& default_child_ip);
// The id in a reply `{"return":{"id":N}}`, or the error in `{"error":{"desc":"..."}}`.
util::Result<int> parse_add_reply(const std::string& reply);

// `name` is what /v1/info reports: also "gvisor-tap-vsock", whose embedded network
// (rootlesskit-netd) speaks the same API.
std::unique_ptr<port::Driver> make_driver(std::string api_socket, std::string default_child_ip,
                                          std::string name = "slirp4netns");

} // namespace rk::port::slirp4netns
