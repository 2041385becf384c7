// Purpose: libFuzzer target for the socket bypass's parsers: the sockaddr a caller in the
// namespace hands connect() (untrusted) and rtnetlink route replies.
#include "bypass/policy.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    if (auto d = rk::bypass::parse_sockaddr(in)) {
        for (const auto& p : rk::bypass::never_ranges({}))
            (void)p.contains(d->addr);
    }
    if (auto r = rk::bypass::parse_route_reply(in, size > 0 ? data[0] : 0))
        (void)rk::bypass::outside(*r);
    return 0;
}
