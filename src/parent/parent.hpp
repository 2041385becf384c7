// Purpose: the parent half of rootlesskit - runs in the host namespaces, creates the child in
// new namespaces, writes its ID maps, forwards signals and reports the target's exit status.
#pragma once

#include "net/driver.hpp"
#include "proto/options.hpp"
#include "proto/startup.hpp"

namespace rk::parent {

// The child half (child::main, which the parent cannot name: they are layers side by side),
// run in the cloned child with the network driver the parent made; returns the child's exit code.
using ChildMain = int (*)(const proto::Options& opts, const proto::ChildStartup& startup,
                          net::Driver& driver);

// Returns the process exit code.
int run(const proto::Options& opts, ChildMain child_main);

} // namespace rk::parent
