// Purpose: fuzz rootless-setuptool's parsers - os-release, helper --version output,
// ping_group_range - and the unit/command rendering of an arbitrary --exec line.
#include "setuptool/check.hpp"
#include "setuptool/distro.hpp"
#include "setuptool/service.hpp"
#include "util/strings.hpp"

#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace rk::setuptool;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    Distro d = parse_os_release(in);
    (void)install_command(d, "uidmap");
    if (auto v = parse_helper_version(in)) (void)version_at_least(*v, {2023, 6, 25});
    (void)diagnose_ping_group_range(std::string(in), {0, 1000});
    (void)diagnose_kernel({std::string(in), false, true}, d);

    PlanInput p;
    for (auto w : rk::util::fields(in))
        p.exec.emplace_back(w);
    if (p.exec.empty()) return 0;
    p.name = p.exec.size() > 1 ? p.exec[1] : "";
    if (auto plan = plan_service(p)) {
        (void)render_unit(*plan, "/rk", "/bin");
        (void)render_command(*plan, "/rk", Paths{"/run/user/1", "/h", "/h/d", "/h/c"});
    }
    return 0;
}
