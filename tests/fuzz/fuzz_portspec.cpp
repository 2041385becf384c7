// Purpose: fuzz the port spec parser; whatever parses must also survive validation, and the
// IPv4-mapped rewrite must give a spec that still validates (an address stays an address), and
// allowing ParentPort 0 must not reject anything that was valid.
#include "port/spec.hpp"

#include <cstdint>
#include <map>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto s = rk::port::parse_port_spec(in)) {
        std::map<int, rk::port::PortSpec> existing{{1, *s}};
        (void)rk::port::validate_port_spec(*s, existing);
        (void)rk::port::go_notation(*s);
        auto plain = rk::port::with_plain_ipv4(*s);
        if (rk::port::validate_port_spec(*s, {}) && !rk::port::validate_port_spec(plain, {}))
            __builtin_trap();
        // Allowing ParentPort 0 only ever widens what is valid.
        using rk::port::AnyParentPort;
        if (rk::port::validate_port_spec(*s, existing) &&
            !rk::port::validate_port_spec(*s, existing, AnyParentPort::Allowed))
            __builtin_trap();
    }
    return 0;
}
