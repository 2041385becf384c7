// Purpose: uid_map/gid_map construction.
#include "parent/idmap.hpp"

#include <fmt/format.h>

namespace rk::parent {

util::Result<std::vector<std::string>> idmap_args(IdKind kind, uint32_t own_id,
                                                  const std::vector<SubidRange>& ranges,
                                                  const std::string& user_name,
                                                  uint64_t free_start) {
    const char* file = kind == IdKind::Uid ? "/etc/subuid" : "/etc/subgid";
    const char* what = kind == IdKind::Uid ? "uid" : "gid";
    std::vector<std::string> args = {"0", std::to_string(own_id), "1"};
    uint64_t next = 1;
    for (size_t i = 0; i < ranges.size(); ++i) {
        const auto& r = ranges[i];
        for (size_t j = 0; j < i; ++j) {
            const auto& o = ranges[j];
            if (r.start < o.start + o.count && o.start < r.start + r.count)
                return util::fail(util::plain_error(
                    fmt::format("the {} ranges {}:{} and {}:{} of {} overlap; newuid/gidmap "
                                "would reject the map",
                                file, o.start, o.count, r.start, r.count, user_name),
                    fmt::format("as root, remove one of them from {}", file)));
        }
        if (own_id >= r.start && own_id - r.start < r.count)
            return util::fail(util::plain_error(
                fmt::format("the {} range {}:{}:{} contains the user's own {} {}; newuid/gidmap "
                            "would reject the map",
                            file, user_name, r.start, r.count, what, own_id),
                free_start == 0
                    ? fmt::format("as root, move the range in {} so that it does not include {}",
                                  file, own_id)
                    : fmt::format("as root, move the range in {} so that it does not include {} "
                                  "(e.g. {}:{}:65536, which no one else has)",
                                  file, own_id, user_name, free_start)));
        if (next + r.count > uint64_t{UINT32_MAX})
            return util::fail(util::plain_error(
                fmt::format("the {} ranges of {} add up to more than 2^32-1 ids", file, user_name),
                "shrink them"));
        args.push_back(std::to_string(next));
        args.push_back(std::to_string(r.start));
        args.push_back(std::to_string(r.count));
        next += r.count;
    }
    return args;
}

} // namespace rk::parent
