// Purpose: the state directory (see statedir.hpp).
#include "parent/statedir.hpp"

#include "sys/fs.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>

namespace rk::parent {
using util::fail;
using util::plain_error;
using util::sys_error;

namespace {

// mkdir -p with mode 0700 for every component we create.
util::Status mkdir_p(const std::string& path) {
    std::string cur;
    for (auto part : util::split(path, '/')) {
        if (part.empty()) continue;
        cur += "/";
        cur += part;
        if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
            return fail(sys_error("cannot create state directory " + cur));
    }
    return {};
}

} // namespace

util::Result<StateDir> StateDir::open(const std::string& requested) {
    StateDir sd;
    if (requested.empty()) {
        const char* tmp = ::getenv("TMPDIR");
        std::string base = tmp && *tmp ? tmp : "/tmp";
        std::string templ = base + "/rootlesskitXXXXXX";
        if (!::mkdtemp(templ.data()))
            return fail(sys_error("cannot create a state directory under " + base)
                            .wrap("failed to create state dir"));
        sd.path_ = sys::absolute_clean(templ);
    } else {
        sd.path_ = sys::absolute_clean(requested);
        RK_TRY(mkdir_p(sd.path_));
    }
    // From here on a failure removes what we made (the destructor runs remove()).
    sd.dir_fd_.reset(::open(sd.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!sd.dir_fd_) {
        sd.removed_ = true; // not ours to remove if we cannot even open it
        return fail(sys_error("cannot open state directory " + sd.path_));
    }
    std::string lock = sd.path_ + "/lock";
    sd.lock_fd_.reset(
        ::openat(sd.dir_fd_.get(), "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!sd.lock_fd_) {
        sd.removed_ = true;
        return fail(sys_error("cannot open " + lock));
    }
    if (::flock(sd.lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        sd.removed_ = true; // another instance owns it: leave everything alone
        if (err == EWOULDBLOCK)
            return fail(plain_error(
                fmt::format("failed to lock {}, another RootlessKit is running with the same "
                            "state directory",
                            lock),
                "stop that instance, or give this one another --state-dir"));
        return fail(sys_error(err, "failed to lock " + lock));
    }
    // Leftovers of an instance that was killed (-9) must not confuse us or our clients.
    if (!requested.empty()) RK_TRY(sys::remove_contents(sd.dir_fd_.get(), sd.path_, "lock"));
    if (::flock(sd.dir_fd_.get(), LOCK_SH | LOCK_NB) != 0)
        util::log::warn("cannot take a shared lock on {}: {}", sd.path_, std::strerror(errno));
    return sd;
}

StateDir::~StateDir() {
    remove();
}

util::Status StateDir::write_child_pid(pid_t pid) const {
    std::string tmp = path_ + "/.child_pid.tmp";
    RK_TRY(sys::write_file(tmp, std::to_string(pid), 0444));
    if (::rename(tmp.c_str(), (path_ + "/child_pid").c_str()) != 0)
        return fail(sys_error("cannot write " + path_ + "/child_pid"));
    return {};
}

void StateDir::remove() {
    if (removed_ || path_.empty()) return;
    removed_ = true;
    if (auto st = sys::remove_tree(path_); !st)
        util::log::warn("cannot remove the state directory: {}", st.error().message());
}

} // namespace rk::parent
