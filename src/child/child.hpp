// Purpose: the child half of rootlesskit - runs inside the new namespaces, finishes their
// set-up (mounts, network), then runs the target and reports its exit status.
#pragma once

#include "net/driver.hpp"
#include "proto/options.hpp"
#include "proto/startup.hpp"

namespace rk::child {

// The parent::ChildMain handed to parent::run.
int main(const proto::Options& opts, const proto::ChildStartup& startup, net::Driver& driver);

} // namespace rk::child
