// Purpose: libFuzzer target for the socket bypass's parsers: the sockaddr a caller in the
// namespace hands connect() (untrusted), rtnetlink route replies, and the /proc texts read of
// the caller (status' Tgid, fdinfo's flags).
#include "bypass/caller.hpp"
#include "bypass/policy.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> in(data, size);
    if (auto d = rk::bypass::parse_sockaddr(in)) {
        for (const auto& p : rk::bypass::never_ranges({}))
            (void)p.contains(d->addr);
    }
    if (auto r = rk::bypass::parse_route_reply(in, size > 0 ? data[0] : 0, size > 1 ? data[1] : 0))
        (void)rk::bypass::outside(*r);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)rk::bypass::parse_tgid(text);
    (void)rk::bypass::parse_fdinfo_flags(text);
    return 0;
}
