// Purpose: the state directory (see statedir.hpp).
#include "parent/statedir.hpp"

#include "sys/fs.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace rk::parent {
using util::fail;
using util::plain_error;
using util::sys_error;

namespace {

// Every name RootlessKit keeps in a state directory - ours and upstream's (so that a directory a
// killed Go instance left behind is recognised too). Nothing else there is ever removed.
constexpr std::string_view kStateNames[] = {
    "lock",           "child_pid",   "api.sock",    "netns",
    ".child_pid.tmp", "resolv.conf", "hosts",       ".s4nn.sock",
    ".netd.sock",     ".pasta.pid",  ".pasta.sock", "vpnkit-ethernet.sock",
    ".bp-ready.pipe", ".bp.sock"};

// mkdir -p with mode 0700; returns the directories it made, outermost first.
util::Result<std::vector<std::string>> mkdir_p(const std::string& path) {
    std::vector<std::string> made;
    std::string cur;
    for (auto part : util::split(path, '/')) {
        if (part.empty()) continue;
        cur += "/";
        cur += part;
        if (::mkdir(cur.c_str(), 0700) == 0)
            made.push_back(cur);
        else if (errno != EEXIST)
            return fail(sys_error("cannot create state directory " + cur));
    }
    return made;
}

// The names in the directory `dir_fd` (without . and ..).
util::Result<std::vector<std::string>> list_names(int dir_fd, const std::string& path) {
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
    if (!d) {
        if (fd >= 0) ::close(fd);
        return fail(sys_error("cannot list state directory " + path));
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    return names;
}

} // namespace

bool is_state_name(std::string_view name) {
    for (auto n : kStateNames)
        if (n == name) return true;
    return false;
}

util::Status check_existing_state_dir(const std::string& path, const struct stat& st, uid_t uid,
                                      const std::vector<std::string>& names) {
    auto refuse = [&](const std::string& why, const std::string& fix) {
        return fail(plain_error(fmt::format("refusing --state-dir={}: {}", path, why), fix));
    };
    if (!S_ISDIR(st.st_mode)) return refuse("not a directory", "give --state-dir a new path");
    if (st.st_uid != uid)
        return refuse(fmt::format("it belongs to uid {}, not to you (uid {})", st.st_uid, uid),
                      "give --state-dir a directory of your own");
    if ((st.st_mode & 022) != 0)
        return refuse(fmt::format("others can write to it (mode {:04o})", st.st_mode & 07777),
                      fmt::format("chmod go-w {}, or give --state-dir a private directory", path));
    if (names.empty()) return {};
    bool has_lock = false;
    for (const auto& n : names)
        has_lock = has_lock || n == "lock";
    if (!has_lock)
        return refuse(
            fmt::format("it is not empty and holds no RootlessKit state (no lock file; first "
                        "entry \"{}\"), and rootlesskit removes its state directory at exit",
                        names.front()),
            "give --state-dir a new or empty directory; nothing in this one was touched");
    return {};
}

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
        sd.made_ = {sd.path_};
    } else {
        sd.path_ = sys::absolute_clean(requested);
        sd.made_ = RK_TRY(mkdir_p(sd.path_));
    }
    bool ours = !sd.made_.empty() && sd.made_.back() == sd.path_;
    // From here on a failure removes what we made (the destructor runs remove()).
    sd.dir_fd_.reset(::open(sd.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!sd.dir_fd_) {
        int err = errno;
        sd.remove();
        return fail(sys_error(err, "cannot open state directory " + sd.path_));
    }
    if (!ours) {
        // Somebody's existing directory: used only if it is private to us and empty or a state
        // directory (a killed instance's); checked on the open fd, so no swap in between.
        struct stat st {};
        if (::fstat(sd.dir_fd_.get(), &st) != 0) {
            sd.removed_ = true;
            return fail(sys_error("cannot stat state directory " + sd.path_));
        }
        auto names = list_names(sd.dir_fd_.get(), sd.path_);
        auto ok = names ? check_existing_state_dir(sd.path_, st, ::geteuid(), *names)
                        : util::Status(fail(names.error()));
        if (!ok) {
            sd.removed_ = true; // not ours: touch nothing
            return fail(ok.error());
        }
        // an empty directory of the user's stays; a killed instance's goes at exit
        sd.owns_dir_ = !names->empty();
    } else {
        sd.owns_dir_ = true;
    }
    std::string lock = sd.path_ + "/lock";
    sd.lock_fd_.reset(
        ::openat(sd.dir_fd_.get(), "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!sd.lock_fd_) {
        int err = errno;
        sd.remove();
        return fail(sys_error(err, "cannot open " + lock));
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
    // A killed (-9) predecessor's files must not confuse us or our clients: its known names
    // go, anything else stays.
    if (!ours) sd.remove_state_names(/*keep_lock=*/true);
    if (::flock(sd.dir_fd_.get(), LOCK_SH | LOCK_NB) != 0)
        util::log::warn("cannot take a shared lock on {}: {}", sd.path_, std::strerror(errno));
    return sd;
}

void StateDir::remove_state_names(bool keep_lock) const {
    for (auto n : kStateNames) {
        if (keep_lock && n == "lock") continue;
        std::string name(n);
        if (::unlinkat(dir_fd_.get(), name.c_str(), 0) != 0 && errno != ENOENT)
            util::log::warn("cannot remove {}/{}: {}", path_, name, std::strerror(errno));
    }
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
    // Only the names we keep there, then the directories we made (innermost first), and a
    // killed predecessor's directory we took over; rmdir leaves any of them that holds
    // something else.
    if (dir_fd_) remove_state_names(/*keep_lock=*/false);
    std::vector<std::string> dirs = made_;
    if (owns_dir_ && (dirs.empty() || dirs.back() != path_)) dirs.push_back(path_);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        if (::rmdir(it->c_str()) == 0 || errno == ENOENT) continue;
        if (errno == ENOTEMPTY || errno == EEXIST)
            util::log::warn("left {} in place: it holds files that are not RootlessKit's", *it);
        else
            util::log::warn("cannot remove {}: {}", *it, std::strerror(errno));
        break;
    }
}

} // namespace rk::parent
