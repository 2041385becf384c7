// Purpose: the state directory - created private, locked for our lifetime, wiped of a crashed
// predecessor's files at start, removed on exit.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <string>
#include <sys/types.h>
#include <utility>

namespace rk::parent {

class StateDir {
  public:
    // `requested` empty: a fresh mkdtemp directory under $TMPDIR (or /tmp), mode 0700.
    // Otherwise the directory is created (0700) if missing, locked, then wiped but for `lock`.
    static util::Result<StateDir> open(const std::string& requested);

    StateDir(StateDir&& o) noexcept
        : path_(std::move(o.path_)), dir_fd_(std::move(o.dir_fd_)), lock_fd_(std::move(o.lock_fd_)),
          removed_(std::exchange(o.removed_, true)) {}
    StateDir& operator=(StateDir&&) = delete;
    ~StateDir();

    const std::string& path() const { return path_; }
    // Writes child_pid (0444, decimal, no newline) atomically.
    util::Status write_child_pid(pid_t pid) const;
    // Removes the directory and everything in it; idempotent.
    void remove();
    // In a cloned child: drop the fds (and with them nothing else - the parent keeps the lock).
    void close_fds() {
        dir_fd_.reset();
        lock_fd_.reset();
        removed_ = true;
    }

  private:
    StateDir() = default;
    std::string path_;
    util::Fd dir_fd_;  // holds a shared flock on the directory (keeps tmpfiles cleaners away)
    util::Fd lock_fd_; // holds the exclusive flock on $SD/lock
    bool removed_ = false;
};

} // namespace rk::parent
