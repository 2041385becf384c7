// Purpose: the caller of a trapped connect() (see caller.hpp).
#include "bypass/caller.hpp"

#include "sys/syscalls.hpp"
#include "util/strings.hpp"

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rk::bypass {
using util::Fd;

namespace {

#ifndef PIDFD_THREAD
constexpr unsigned PIDFD_THREAD = O_EXCL; // Linux 6.9
#endif

// The value after `key` on its line of a /proc text ("key:\t<value>\n"), or empty.
std::string_view field(std::string_view text, std::string_view key) {
    for (size_t at = 0; at < text.size();) {
        size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(at, end - at);
        if (line.size() > key.size() && line.substr(0, key.size()) == key &&
            line[key.size()] == ':') {
            line.remove_prefix(key.size() + 1);
            while (!line.empty() && (line.front() == '\t' || line.front() == ' '))
                line.remove_prefix(1);
            return line;
        }
        at = end + 1;
    }
    return {};
}

// Reads a small /proc file into `buf`; the text, or empty.
std::string_view read_small(const char* path, char* buf, size_t size) {
    Fd f(::open(path, O_RDONLY | O_CLOEXEC));
    if (!f) return {};
    ssize_t n = sys::retry_eintr([&] { return ::read(f.get(), buf, size); });
    return n > 0 ? std::string_view(buf, static_cast<size_t>(n)) : std::string_view{};
}

} // namespace

std::optional<pid_t> parse_tgid(std::string_view status) {
    auto v = util::parse_u64(field(status, "Tgid"));
    if (!v || *v == 0 || *v > 0x3fffffff) return std::nullopt; // PID_MAX_LIMIT
    return static_cast<pid_t>(*v);
}

std::optional<FdFlags> parse_fdinfo_flags(std::string_view fdinfo) {
    auto v = util::parse_u64(field(fdinfo, "flags"), 8);
    if (!v) return std::nullopt;
    return FdFlags{(*v & O_NONBLOCK) != 0, (*v & O_CLOEXEC) != 0};
}

ThreadPidfd probe_thread_pidfd() {
    Fd self(sys::pidfd_open(::getpid(), PIDFD_THREAD));
    return self ? ThreadPidfd::Supported : ThreadPidfd::Unsupported;
}

Fd open_caller(pid_t tid, ThreadPidfd mode) {
    if (mode == ThreadPidfd::Supported) return Fd(sys::pidfd_open(tid, PIDFD_THREAD));
    Fd own(sys::pidfd_open(tid, 0));
    if (own || errno == ESRCH) return own; // a group leader, or gone
    // A thread that is not its group's leader: pidfd_open says EINVAL for those (ENOENT on
    // newer kernels, when asked without PIDFD_THREAD).
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/status", tid);
    char buf[4096]; // Tgid is on the 4th line
    auto tgid = parse_tgid(read_small(path, buf, sizeof buf));
    if (!tgid) {
        errno = ESRCH;
        return {};
    }
    Fd group(sys::pidfd_open(*tgid, 0));
    if (!group) return {};
    // The leader's fd table must be the caller's own.
    if (sys::kcmp(*tgid, tid, KCMP_FILES, 0, 0) != 0) {
        errno = ESRCH;
        return {};
    }
    return group;
}

bool same_file(pid_t tid, int fd, int ours) {
    return sys::kcmp(tid, ::getpid(), KCMP_FILE, static_cast<unsigned long>(fd),
                     static_cast<unsigned long>(ours)) == 0;
}

std::optional<FdFlags> read_fd_flags(pid_t tid, int fd) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", tid, fd);
    char buf[512];
    return parse_fdinfo_flags(read_small(path, buf, sizeof buf));
}

uint64_t netns_inode_of(pid_t tid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/ns/net", tid);
    struct stat st {};
    if (::stat(path, &st) != 0) return 0;
    return static_cast<uint64_t>(st.st_ino);
}

} // namespace rk::bypass
