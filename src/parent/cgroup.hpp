// Purpose: --evacuate-cgroup2 - move every process of our cgroup v2 group into a sub-group and
// enable the group's controllers for its children (a group with processes cannot delegate).
#pragma once

#include "util/error.hpp"

#include <string>

namespace rk::parent {

util::Status evacuate_cgroup2(const std::string& subgroup);

} // namespace rk::parent
