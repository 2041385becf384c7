// Purpose: --port-driver=slirp4netns - ports forwarded by slirp4netns itself (libslirp's
// hostfwd), driven through its JSON API socket ($STATE_DIR/.s4nn.sock). Also
// --port-driver=gvisor-tap-vsock, through rootlesskit-netd's socket of the same protocol.
#pragma once

#include "port/driver.hpp"

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace rk::port::slirp4netns {

// The request text for add_hostfwd (spec 7.4); errors for protocols and addresses slirp4netns
// cannot forward. `default_child_ip` is the namespace's address (10.0.2.100).
util::Result<std::string> add_request(const PortSpec& spec, const std::string& default_child_ip);
// The id in a reply `{"return":{"id":N}}`, or the error in `{"error":{"desc":"..."}}`.
util::Result<int> parse_add_reply(const std::string& reply);
// remove_hostfwd and list_hostfwd requests.
std::string remove_request(int id);
std::string list_request();
// Success (`{"return":{}}`) or the error of a reply.
util::Status parse_plain_reply(const std::string& reply);
// The forwards' ids in a list_hostfwd reply `{"entries":[{"id":N,...},...]}` (slirp4netns' form;
// also inside a "return" object).
util::Result<std::vector<int>> parse_list_reply(const std::string& reply);

// The process behind the API socket: its name for messages, and its pid (-1: unknown) so
// that a stopped one is reported at once instead of waited for.
struct Helper {
    std::string name = "slirp4netns";
    pid_t pid = -1;
};

// `name` is what /v1/info reports: also "gvisor-tap-vsock", whose embedded network
// (rootlesskit-netd) speaks the same API. With an event loop `io`, add_async/remove_async talk
// to the helper on it without blocking it (add/remove always block, up to the deadline).
std::unique_ptr<port::Driver> make_driver(boost::asio::io_context* io, std::string api_socket,
                                          std::string default_child_ip,
                                          std::string name = "slirp4netns", Helper helper = {});

// Fails if process `pid` is stopped (SIGSTOP, a debugger) or gone; ok if it runs or is unknown.
util::Status check_running(const Helper& h);

} // namespace rk::port::slirp4netns
