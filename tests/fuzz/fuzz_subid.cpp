// Purpose: fuzz the /etc/subuid and getsubids parsers, the free-range search over the same text,
// and the ID-map construction on their output; and the other /proc-style table start-up reads,
// mountinfo (sys::parse_mountinfo).
#include "parent/idmap.hpp"
#include "parent/subid.hpp"
#include "sys/fs.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const rk::parent::User user{1001, 1001, "penguin"};
    const uint64_t free_start = rk::parent::free_subid_start(in, in, {user.uid, user.gid});
    if (auto r = rk::parent::parse_subid_file(in, user, "/etc/subuid"))
        (void)rk::parent::idmap_args(rk::parent::IdKind::Uid, user.uid, *r, user.name, free_start);
    if (auto g = rk::parent::parse_getsubids_output(in)) {
        std::vector<rk::parent::SubidRange> merged;
        rk::parent::merge_unique(merged, g->ranges);
        (void)rk::parent::idmap_args(rk::parent::IdKind::Gid, user.gid, merged, user.name);
    }
    for (const auto& m : rk::sys::parse_mountinfo(in))
        if (m.mountpoint.empty() || m.fstype.empty()) __builtin_trap();
    return 0;
}
