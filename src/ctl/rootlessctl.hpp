// Purpose: the rootlessctl command (spec 2) - a client of the REST API on api.sock.
#pragma once

#include <string>
#include <vector>

namespace rk::ctl {

// Runs `rootlessctl args...`; returns the exit code (0, 1 on errors, 3 for an unknown command).
int run(const std::vector<std::string>& args);

// Go text/tabwriter with minwidth 4, tabwidth 8, padding 4, spaces: every cell padded to its
// column's width; rows end with a tab, so lines keep trailing spaces as upstream's do.
std::string tabwrite(const std::vector<std::vector<std::string>>& rows);

} // namespace rk::ctl
