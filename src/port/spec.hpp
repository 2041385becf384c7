// Purpose: port specs - "<parentIP>:<parentPort>[:<childIP>]:<childPort>/<proto>" as `-p` and
// `rootlessctl add-ports` take them, and the checks every port driver applies before adding one.
#pragma once

#include "util/error.hpp"

#include <map>
#include <string>
#include <string_view>

namespace rk::port {

struct PortSpec {
    std::string proto;     // tcp tcp4 tcp6 udp udp4 udp6 sctp sctp4 sctp6
    std::string parent_ip; // "" = every address
    int parent_port = 0;
    std::string child_ip; // "" = the driver's default target
    int child_port = 0;
    bool operator==(const PortSpec&) const = default;
};

// Parses one spec. Accepts and rejects exactly what upstream's parser does for every case in
// the spec's table (whitespace before the child port is ignored, IPv6 needs brackets, no
// zones, ports are decimal with an optional sign); the error names the field at fault.
util::Result<PortSpec> parse_port_spec(std::string_view s);

// Whether ParentPort 0 means "any free port" (the driver binds one and reports it; beyond
// upstream, builtin driver only) or is out of range (upstream).
enum class AnyParentPort { Refused, Allowed };

// Checks proto, IPs and port ranges, and that no existing spec has the same proto, parent IP
// (as a string) and parent port: "conflict with ID N". A ParentPort 0 that is allowed
// conflicts with nothing: the port is chosen when it is bound.
util::Status validate_port_spec(const PortSpec& spec, const std::map<int, PortSpec>& existing,
                                AnyParentPort any = AnyParentPort::Refused);

bool known_proto(std::string_view proto);
// True if `ip` is an IPv4 or IPv6 literal (no zone, no host name).
bool is_ip_literal(std::string_view ip);

// An IPv4-mapped IPv6 literal ("::ffff:10.0.2.100", as Docker >= 28 may send) as the plain IPv4
// address it stands for; any other string unchanged. Go's net.IP treats both forms alike.
std::string plain_ipv4(std::string_view ip);
// `spec` with both addresses passed through plain_ipv4: what drivers bind and dial. The spec as
// submitted is what they list.
PortSpec with_plain_ipv4(PortSpec spec);

// Upstream's Go struct notation, used in start-up errors: "{tcp 127.0.0.1 8080 80 }".
std::string go_notation(const PortSpec& s);

} // namespace rk::port
