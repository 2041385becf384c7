// Purpose: fuzz the DHCP reply parser (replies come from the bridge's network, i.e. from
// anything attached to it) and the lease checks after it.
#include "net/dhcp.hpp"

#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto r = rk::net::dhcp::parse(std::span<const uint8_t>(data, size));
    if (r) (void)rk::net::dhcp::lease_from_ack(*r);
    return 0;
}
