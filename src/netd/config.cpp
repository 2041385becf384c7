// Purpose: rootlesskit-netd's command line (see config.hpp).
#include "netd/config.hpp"

#include "util/strings.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

namespace rk::netd {
using util::fail;
using util::plain_error;

util::Result<Config> parse_config(const std::vector<std::string>& args) {
    Config c;
    bool have_cidr = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> util::Result<std::string> {
            if (i + 1 >= args.size()) return fail(plain_error(a + " needs a value"));
            return args[++i];
        };
        if (a == "--mtu") {
            auto v = util::parse_u64(RK_TRY(value()));
            if (!v || *v < 576 || *v > 65521) return fail(plain_error("--mtu must be 576..65521"));
            c.mtu = static_cast<unsigned>(*v);
        } else if (a == "--cidr") {
            std::string v = RK_TRY(value());
            auto slash = v.find('/');
            if (slash == std::string::npos) return fail(plain_error("--cidr needs A.B.C.D/L"));
            auto len = util::parse_u64(std::string_view(v).substr(slash + 1));
            if (::inet_pton(AF_INET, v.substr(0, slash).c_str(), &c.network) != 1 || !len ||
                *len < 8 || *len > 25)
                return fail(plain_error("--cidr needs A.B.C.D/L with L in 8..25: " + v));
            c.prefix = static_cast<int>(*len);
            uint32_t mask = ~uint32_t{0} << (32 - c.prefix);
            if ((ntohl(c.network.s_addr) & ~mask) != 0)
                return fail(plain_error("--cidr has host bits set: " + v));
            have_cidr = true;
        } else if (a == "--disable-host-loopback") {
            c.disable_host_loopback = true;
        } else if (a == "--ipv6") {
            c.ipv6 = true;
        } else if (a == "--without-landlock") {
            c.without_landlock = true;
        } else if (a == "--api-socket") {
            c.api_socket = RK_TRY(value());
            if (c.api_socket.empty() || c.api_socket[0] != '/')
                return fail(plain_error("--api-socket needs an absolute path"));
        } else {
            return fail(plain_error(fmt::format("unknown argument \"{}\"", a)));
        }
    }
    if (!have_cidr) return fail(plain_error("--cidr is required"));
    return c;
}

} // namespace rk::netd
