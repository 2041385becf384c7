// Purpose: running helper programs (newuidmap, getsubids) with captured output, and naming
// wait statuses the way users expect to read them.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/types.h>
#include <vector>

namespace rk::sys {

// A helper started with stdin on /dev/null and stdout+stderr on one pipe.
struct Helper {
    pid_t pid = -1;
    util::Fd output;
    std::vector<std::string> argv;
};

struct HelperResult {
    int status = 0; // raw wait status
    std::string output;
    bool ok() const;
};

// Starts argv[0] (looked up in PATH) without waiting; posix_spawn keeps this cheap.
util::Result<Helper> spawn_helper(std::vector<std::string> argv);
// Reads the helper's output to EOF and reaps it.
util::Result<HelperResult> finish_helper(Helper& h);

// "exit status 42", "signal: killed" - the wording of Go's ProcessState.String().
std::string describe_wait_status(int status);
// "user defined signal 1", "terminated", ... (lower-case strsignal).
std::string signal_description(int sig);

// The state letter and parent of a process, from /proc/<pid>/stat; nullopt if it is gone.
struct ProcStat {
    char state = '?'; // R, S, D, T (stopped), t (traced), Z (zombie), ...
    pid_t ppid = -1;
};
std::optional<ProcStat> read_proc_stat(pid_t pid);

// fork(), with the child bound to the caller's life: it gets SIGKILL when the calling process
// dies (PR_SET_PDEATHSIG) and _exit(127)s at once if that already happened. In the child, only
// async-signal-safe calls may follow (the parent may have other threads). Returns like fork.
pid_t fork_bound_to_parent();

// Kills (SIGKILL) and reaps a child; for error paths.
void kill_and_reap(pid_t pid);

// Raises this process's soft RLIMIT_NOFILE to its hard limit (what Go programs do at start-up)
// and returns the new soft limit, or the old one if the kernel refused. Only ever raises.
rlim_t raise_nofile_limit();

} // namespace rk::sys
