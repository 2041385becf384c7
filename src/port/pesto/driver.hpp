// Purpose: --port-driver=pesto (upstream 3.1) - ports forwarded by pasta itself, added and
// removed with passt's `pesto` client on pasta's control socket (pasta -c PATH), so that
// `rootlessctl add-ports`, `-p` and Docker's port API work with --net=pasta.
#pragma once

#include "port/driver.hpp"

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

namespace rk::port::pesto {

struct Config {
    std::string pesto;          // the pesto binary
    std::string control_socket; // pasta's -c PATH
    std::string child_ip;       // the namespace's address: the only ChildIP pasta forwards to
    bool ipv6 = false;          // --ipv6: tcp6/udp6 too
};

// pesto's arguments (without argv[0]) to add (`add`) or delete one forward: "-A"|"-D",
// "-t"|"-u", "[ADDR/]PORT:CHILDPORT" (an IPv6 ADDR in brackets), the socket. Errors for
// protocols and child addresses pasta cannot forward to.
util::Result<std::vector<std::string>> pesto_args(bool add, const PortSpec& spec,
                                                  const Config& config);

// The pesto binary: next to the pasta binary (`pasta_binary`, a path or a name looked up in
// PATH) if there is one there, else in PATH; an error naming the fix if there is none.
util::Result<std::string> find_pesto(const std::string& pasta_binary);

// With an event loop `io`, add_async/remove_async run pesto without blocking it (a 3 s
// deadline each); add/remove block. Before each add, the host address and port are bound
// and released once: pesto reports success even where pasta cannot bind, so a clash or a
// privileged port is caught here, with the builtin driver's messages.
std::unique_ptr<port::Driver> make_driver(boost::asio::io_context* io, Config config);

} // namespace rk::port::pesto
