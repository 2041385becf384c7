// Purpose: starting threads without exceptions. std::thread throws std::system_error when the
// kernel refuses a thread (RLIMIT_NPROC, memory); in rootlesskit an uncaught exception ends
// the process and with it the namespace, so every thread starts through these and a refusal
// is an ordinary Error.
#pragma once

#include "util/error.hpp"

#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace rk::util {

enum class ThreadEnd { Detach, Join };

// Runs `fn` on a new thread, detached or waited for; `what` names it in the error.
template <class F> Status start_thread(std::string_view what, ThreadEnd end, F&& fn) {
    try {
        std::thread t(std::forward<F>(fn));
        if (end == ThreadEnd::Join)
            t.join();
        else
            t.detach();
    } catch (const std::system_error& e) {
        return fail(sys_error(e.code().value(), "cannot start a thread for " + std::string(what)));
    }
    return {};
}

// A detached thread (it lives on by itself).
template <class F> Status start_detached(std::string_view what, F&& fn) {
    return start_thread(what, ThreadEnd::Detach, std::forward<F>(fn));
}

// A thread waited for: for work that must not change the calling thread, e.g. a namespace
// switch.
template <class F> Status run_on_thread(std::string_view what, F&& fn) {
    return start_thread(what, ThreadEnd::Join, std::forward<F>(fn));
}

} // namespace rk::util
