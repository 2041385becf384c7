// Purpose: mount-namespace set-up done by the child: propagation of /, a fresh /proc for
// --pidns, and tmpfs+symlink copy-up (copyup.cpp).
#pragma once

#include "util/error.hpp"

#include <string>

namespace rk::child {

util::Status apply_propagation(const std::string& mode);
util::Status mount_proc();
// tmpfs+symlink copy-up of one absolute directory.
util::Status copy_up(const std::string& dir);

} // namespace rk::child
