// Purpose: --net name -> driver factory.
#include "net/driver.hpp"
#include "net/host.hpp"
#include "net/lxc_user_nic.hpp"
#include "net/none.hpp"
#include "net/pasta.hpp"
#include "net/slirp4netns.hpp"
#include "net/vpnkit.hpp"

namespace rk::net {
namespace {

using Factory = util::Result<std::unique_ptr<Driver>> (*)(const proto::Options&);

struct Entry {
    std::string_view name;
    Factory make; // nullptr: known upstream driver not implemented by this build yet
};

const Entry kDrivers[] = {
    {"host",
     [](const proto::Options&) -> util::Result<std::unique_ptr<Driver>> {
         return std::unique_ptr<Driver>(std::make_unique<HostDriver>());
     }},
    {"none",
     [](const proto::Options&) -> util::Result<std::unique_ptr<Driver>> {
         return std::unique_ptr<Driver>(std::make_unique<NoneDriver>());
     }},
    {"pasta", make_pasta_driver},
    {"slirp4netns", make_slirp4netns_driver},
    {"vpnkit", make_vpnkit_driver},
    {"lxc-user-nic", make_lxc_user_nic_driver},
    {"gvisor-tap-vsock", nullptr},
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

bool driver_implemented(std::string_view name) {
    for (const auto& e : kDrivers)
        if (e.name == name) return e.make != nullptr;
    return false;
}

util::Result<std::unique_ptr<Driver>> make_driver(const proto::Options& opts) {
    for (const auto& e : kDrivers) {
        if (e.name != opts.net) continue;
        if (!e.make)
            return util::fail(util::plain_error(
                "--net=" + opts.net + " is not supported yet by this build of rootlesskit",
                "use --net=host or --net=none"));
        return e.make(opts);
    }
    return util::fail(util::plain_error("unknown network mode: " + opts.net));
}

} // namespace rk::net
