// Purpose: the builtin port driver, parent half: listeners on the host, one connection inside
// the namespace per client (on a socket the child made there, see dial.hpp), bytes moved with
// splice(2) in the parent's one event loop.
#pragma once

#include "port/driver.hpp"
#include "util/fd.hpp"

#include <boost/asio/io_context.hpp>
#include <memory>

namespace rk::port::builtin {

// Whether servers inside see TCP clients' own addresses (--source-ip-transparent).
enum class SourceIp { Preserve, Loopback };

// `dial_sock`: the parent's end of the dial socketpair.
std::unique_ptr<port::Driver> make_driver(boost::asio::io_context& io, util::Fd dial_sock,
                                          SourceIp source_ip);

// The IPv4 address the child must not dial on the parent's behalf (upstream's HostGatewayIP:
// the first non-loopback IPv4 address of the host), "" if none.
std::string host_gateway_ip();

// Where the child connects for a spec (spec 7.3.2): ChildIP if given; else ParentIP when it is
// a specific address other than 0.0.0.0 and the host's gateway IP; else 127.0.0.1.
std::string dial_target(const PortSpec& spec, const std::string& host_gateway_ip);

} // namespace rk::port::builtin
