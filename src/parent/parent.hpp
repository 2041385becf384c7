// Purpose: the parent half of rootlesskit - runs in the host namespaces, creates the child in
// new namespaces, writes its ID maps, forwards signals and reports the target's exit status.
#pragma once

#include "proto/options.hpp"
#include "proto/startup.hpp"

namespace rk::parent {

// Returns the process exit code.
int run(const proto::Options& opts, proto::ChildMain child_main);

} // namespace rk::parent
