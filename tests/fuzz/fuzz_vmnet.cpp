// Purpose: fuzz what we parse from vpnkit's socket (a process that handles packets from inside
// the namespace): its hello, the interface response and Ethernet frames carrying DHCP.
#include "net/vmnet.hpp"

#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    (void)rk::net::vmnet::parse_hello(in);
    (void)rk::net::vmnet::parse_interface_response(in);
    if (auto r = rk::net::vmnet::parse_dhcp_frame(in)) (void)rk::net::dhcp::lease_from_ack(*r);
    return 0;
}
