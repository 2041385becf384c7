// Purpose: filesystem helpers - whole-file read/write, recursive removal, PATH lookup.
#pragma once

#include "util/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace rk::sys {

util::Result<std::string> read_file(const std::string& path);
// Creates (O_EXCL) or truncates `path` with `mode` and writes `data` in full.
util::Status write_file(const std::string& path, std::string_view data, mode_t mode,
                        bool exclusive = false);
// Writes to an existing file (procfs, cgroupfs) without creating it.
util::Status write_existing(const std::string& path, std::string_view data);

// Like execvp's lookup: the first executable file named `name` in $PATH (or `name` itself if it
// contains a slash). nullopt if none.
std::optional<std::string> find_in_path(const std::string& name);

// Where an installed document of ours is: <prefix>/share/doc/rootlesskit-cpp/<name>, found from
// this executable's own directory (<prefix>/bin); the source-tree name when not installed.
std::string doc_path(const std::string& name);

// One line of /proc/self/mountinfo: where it is mounted, its optional fields ("shared:1",
// "master:2"), its file system type. Mount points are as the kernel writes them (octal escapes
// such as "\040" for a space kept).
struct Mount {
    std::string mountpoint;
    std::vector<std::string> optional;
    std::string fstype;
};
// The lines of a mountinfo text, in order (a later mount on the same point hides an earlier
// one); malformed lines are skipped.
std::vector<Mount> parse_mountinfo(std::string_view text);
// This process's mounts (/proc/self/mountinfo); empty if it cannot be read.
std::vector<Mount> own_mounts();

// Makes a path absolute against the current directory and cleans "." / ".." / "//".
std::string absolute_clean(const std::string& path);
std::string clean_path(const std::string& path);

} // namespace rk::sys
