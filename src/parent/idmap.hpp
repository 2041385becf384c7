// Purpose: uid_map/gid_map construction - own id at 0, then every sub-ID range packed from 1.
#pragma once

#include "parent/subid.hpp"

#include <string>
#include <vector>

namespace rk::parent {

// Arguments for newuidmap/newgidmap after the pid: "0 <own> 1 1 <start> <count> ...".
// Fails if a range contains the user's own id (newuidmap rejects overlapping maps with EINVAL)
// or if the container ids would run past 2^32-1. `free_start` (free_subid_start) is where the
// fix suggests moving a range to; 0 suggests no place.
util::Result<std::vector<std::string>> idmap_args(IdKind kind, uint32_t own_id,
                                                  const std::vector<SubidRange>& ranges,
                                                  const std::string& user_name,
                                                  uint64_t free_start = 0);

} // namespace rk::parent
