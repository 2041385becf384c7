// Purpose: the signal set we forward, and signalfd set-up.
#include "sys/signals.hpp"

#include <sys/signalfd.h>

namespace rk::sys {

sigset_t forwarded_signals() {
    sigset_t s;
    sigfillset(&s);
    for (int sig : {SIGKILL, SIGSTOP, SIGCHLD, SIGPIPE, SIGURG})
        sigdelset(&s, sig);
    // glibc reserves the first two RT signals for itself (cancellation, setxid).
    for (int sig = 32; sig < SIGRTMIN; ++sig)
        sigdelset(&s, sig);
    return s;
}

util::Result<util::Fd> block_and_signalfd(const sigset_t& set) {
    sigset_t s = set;
    sigaddset(&s, SIGCHLD);
    if (::sigprocmask(SIG_BLOCK, &s, nullptr) != 0)
        return util::fail(util::sys_error("sigprocmask"));
    util::Fd fd(::signalfd(-1, &s, SFD_CLOEXEC));
    if (!fd) return util::fail(util::sys_error("signalfd"));
    return fd;
}

void reset_signals_for_exec() {
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        ::signal(sig, SIG_DFL);
    }
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
}

} // namespace rk::sys
