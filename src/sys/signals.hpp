// Purpose: the signal set we forward, and signalfd set-up.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <signal.h>

namespace rk::sys {

// Every catchable signal, RT signals included, minus SIGCHLD, SIGPIPE and SIGURG
// (which upstream never forwards: they describe our own process, not the user's).
sigset_t forwarded_signals();

// Blocks every signal in `set` plus SIGCHLD and returns a signalfd reading them.
util::Result<util::Fd> block_and_signalfd(const sigset_t& set);

// Restores the default disposition and an empty mask; for a process about to exec.
void reset_signals_for_exec();

} // namespace rk::sys
