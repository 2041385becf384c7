// Purpose: the rtnetlink requests we make ourselves instead of exec'ing `ip`.
#pragma once

#include "util/error.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace rk::sys::netlink {

// Sets IFF_UP on the interface with this index in the caller's network namespace.
util::Status link_set_up(int ifindex, const std::string& name_for_errors);

// Brings `lo` up in the caller's network namespace (the kernel then adds 127.0.0.1/8 and ::1).
util::Status loopback_up();

// Sets the MTU of the interface with this index.
util::Status link_set_mtu(int ifindex, unsigned mtu, const std::string& name_for_errors);

// Sets the Ethernet address of the interface with this index.
util::Status link_set_address(int ifindex, const std::array<uint8_t, 6>& mac,
                              const std::string& name_for_errors);

// `ip addr add <address>/<prefix> dev <ifindex>` (IPv4 or IPv6 literal).
util::Status addr_add(int ifindex, const std::string& address, int prefix,
                      const std::string& name_for_errors);

// `ip route add default via <gateway> dev <ifindex>` (IPv4 or IPv6 literal).
util::Status route_add_default(int ifindex, const std::string& gateway,
                               const std::string& name_for_errors);

// `ip [-6] route add local default dev <ifindex> table <table>`: every destination counts as
// local for lookups in `table`. An existing identical route counts as success.
util::Status route_add_local_default(int family, int ifindex, uint32_t table);

// `ip [-6] rule add fwmark <mark> lookup <table> priority <priority>`. An existing identical
// rule counts as success.
util::Status rule_add_fwmark(int family, uint32_t mark, uint32_t table, uint32_t priority);

} // namespace rk::sys::netlink
