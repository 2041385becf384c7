// Purpose: the socket bypass's view of the thread that called connect(): a pidfd through which
// its fd table can be read (pidfd_getfd), whether a descriptor still names the file we copied,
// and what /proc says of it (fd flags, network namespace). Parsers are pure, for tests and fuzz.
//
// A pidfd for a thread that is not its group's leader needs PIDFD_THREAD (Linux 6.9). Before
// that, pidfd_open(tid) is EINVAL, and the pidfd must be the thread group's (Tgid in
// /proc/TID/status): pidfd_getfd then reads the group leader's fd table, which is the caller's
// only when both share it (kcmp KCMP_FILES; a thread made with clone() without CLONE_FILES, or
// one that called unshare(CLONE_FILES), has its own). Where that cannot be shown, the call is
// left to the kernel. Nothing here checks that the caller is still the caller: the supervisor
// checks the notification id after every read (supervisor.hpp).
#pragma once

#include "util/fd.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <sys/types.h>

namespace rk::bypass {

// "Tgid:\t1234" from the text of /proc/TID/status.
std::optional<pid_t> parse_tgid(std::string_view status);

// The "flags:\t02004002" line of /proc/TID/fdinfo/FD: O_NONBLOCK of the file and whether the fd
// is close-on-exec (reported as O_CLOEXEC, a flag of the fd table).
struct FdFlags {
    bool nonblock = false;
    bool cloexec = false;
};
std::optional<FdFlags> parse_fdinfo_flags(std::string_view fdinfo);

enum class ThreadPidfd { Supported, Unsupported }; // PIDFD_THREAD, probed once

// Whether this kernel opens pidfds for threads (PIDFD_THREAD, Linux 6.9).
ThreadPidfd probe_thread_pidfd();

// A pidfd whose fd table is `tid`'s, or an invalid Fd (errno set) when there is none: the thread
// is gone, or it does not share its group leader's table on a kernel without PIDFD_THREAD.
util::Fd open_caller(pid_t tid, ThreadPidfd mode);

// Whether fd `fd` of thread `tid` is the same open file as our `ours` (kcmp KCMP_FILE).
bool same_file(pid_t tid, int fd, int ours);

// The caller's fd flags, from /proc/TID/fdinfo/FD.
std::optional<FdFlags> read_fd_flags(pid_t tid, int fd);

// The inode of /proc/TID/ns/net (which network namespace the thread is in), 0 if gone.
uint64_t netns_inode_of(pid_t tid);

} // namespace rk::bypass
