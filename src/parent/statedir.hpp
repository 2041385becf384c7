// Purpose: the state directory - created private, locked for our lifetime, cleared of a killed
// predecessor's files at start, removed on exit. A directory that is not ours is refused, and
// only the names RootlessKit keeps there are ever removed: a user's files are never deleted.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace rk::parent {

class StateDir {
  public:
    // `requested` empty: a fresh mkdtemp directory under $TMPDIR (or /tmp), mode 0700.
    // Otherwise the directory is created (0700, with missing parents) if missing; an existing
    // one must be the user's, not writable by others, and empty or a state directory (it has a
    // `lock`): else one error naming the directory and why, and nothing in it is touched.
    static util::Result<StateDir> open(const std::string& requested);

    StateDir(StateDir&& o) noexcept
        : path_(std::move(o.path_)), made_(std::move(o.made_)), dir_fd_(std::move(o.dir_fd_)),
          lock_fd_(std::move(o.lock_fd_)), owns_dir_(o.owns_dir_),
          removed_(std::exchange(o.removed_, true)) {}
    StateDir& operator=(StateDir&&) = delete;
    ~StateDir();

    const std::string& path() const { return path_; }
    // Writes child_pid (0444, decimal, no newline) atomically.
    util::Status write_child_pid(pid_t pid) const;
    // Removes our names in it, then the directories we made (or took over from a killed
    // instance) if nothing else is left in them; idempotent.
    void remove();
    // In a cloned child: drop the fds (and with them nothing else - the parent keeps the lock).
    void close_fds() {
        dir_fd_.reset();
        lock_fd_.reset();
        removed_ = true;
    }

  private:
    StateDir() = default;
    void remove_state_names(bool keep_lock) const;
    std::string path_;
    std::vector<std::string> made_; // directories we created, outermost first
    util::Fd dir_fd_;       // holds a shared flock on the directory (keeps tmpfiles cleaners away)
    util::Fd lock_fd_;      // holds the exclusive flock on $SD/lock
    bool owns_dir_ = false; // remove path_ itself at the end (ours, or a killed instance's)
    bool removed_ = false;
};

// The names RootlessKit (ours or upstream's) keeps in a state directory.
bool is_state_name(std::string_view name);
// Whether an existing directory (not made by us) may serve as the state directory: a directory
// of `uid`, not writable by group or others, empty or holding a `lock`. The error names `path`,
// why, and the fix.
util::Status check_existing_state_dir(const std::string& path, const struct stat& st, uid_t uid,
                                      const std::vector<std::string>& names);

} // namespace rk::parent
