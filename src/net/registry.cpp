// Purpose: --net name -> driver factory.
#include "net/driver.hpp"
#include "net/embedded.hpp"
#include "net/host.hpp"
#include "net/lxc_user_nic.hpp"
#include "net/none.hpp"
#include "net/pasta.hpp"
#include "net/slirp4netns.hpp"
#include "net/vpnkit.hpp"
#include "util/log.hpp"

namespace rk::net {
namespace {

using Factory = util::Result<std::unique_ptr<Driver>> (*)(const proto::Options&);

struct Entry {
    std::string_view name;
    Factory make;
};

// --net=auto (upstream issue #520): pasta where it is recent enough - it has
// --host-lo-to-ns-lo (passt 2024_10_30+, which keeps `docker run -p 127.0.0.1:...` working)
// and the port driver is one pasta takes - else the embedded network, which needs no helper
// binary. /v1/info names the driver chosen.
util::Result<std::unique_ptr<Driver>> make_auto_driver(const proto::Options& opts) {
    bool pasta_ports = opts.port_driver == "none" || opts.port_driver == "implicit";
    if (opts.port_driver == "implicit" || opts.ipv6) return make_pasta_driver(opts);
    if (pasta_ports) {
        auto probe = probe_pasta(opts);
        if (probe && probe->features.host_lo_to_ns_lo) return make_pasta_driver(opts, *probe);
        util::log::debug("--net=auto: not pasta ({})",
                         probe ? "it lacks --host-lo-to-ns-lo" : probe.error().message());
    }
    return make_embedded_driver(opts);
}

const Entry kDrivers[] = {
    {"host",
     [](const proto::Options&) -> util::Result<std::unique_ptr<Driver>> {
         return std::unique_ptr<Driver>(std::make_unique<HostDriver>());
     }},
    {"none",
     [](const proto::Options&) -> util::Result<std::unique_ptr<Driver>> {
         return std::unique_ptr<Driver>(std::make_unique<NoneDriver>());
     }},
    {"auto", make_auto_driver},
    {"pasta", make_pasta_driver},
    {"slirp4netns", make_slirp4netns_driver},
    {"vpnkit", make_vpnkit_driver},
    {"lxc-user-nic", make_lxc_user_nic_driver},
    {"gvisor-tap-vsock", make_embedded_driver},
};

} // namespace

const std::vector<std::string_view>& driver_names() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> v;
        for (const auto& e : kDrivers)
            v.push_back(e.name);
        return v;
    }();
    return names;
}

util::Result<std::unique_ptr<Driver>> make_driver(const proto::Options& opts) {
    for (const auto& e : kDrivers) {
        if (e.name == opts.net) return e.make(opts);
    }
    return util::fail(util::plain_error("unknown network mode: " + opts.net));
}

} // namespace rk::net
