// Purpose: starting threads without exceptions. std::thread throws std::system_error when the
// kernel refuses a thread (RLIMIT_NPROC, memory); in rootlesskit an uncaught exception ends
// the process and with it the namespace, so every thread starts through these and a refusal
// is an ordinary Error.
#pragma once

#include "util/error.hpp"

#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace rk::util {

// Runs `fn` on a new detached thread; `what` names it in the error.
template <class F>
Status start_detached(std::string_view what, F&& fn) {
    try {
        std::thread(std::forward<F>(fn)).detach();
    } catch (const std::system_error& e) {
        return fail(sys_error(e.code().value(), "cannot start a thread for " + std::string(what)));
    }
    return {};
}

// Runs `fn` on a new thread and waits for it (for work that must not change the calling
// thread, e.g. a namespace switch).
template <class F>
Status run_on_thread(std::string_view what, F&& fn) {
    try {
        std::thread(std::forward<F>(fn)).join();
    } catch (const std::system_error& e) {
        return fail(sys_error(e.code().value(), "cannot start a thread for " + std::string(what)));
    }
    return {};
}

} // namespace rk::util
