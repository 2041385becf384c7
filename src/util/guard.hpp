// Purpose: the last line of defence of every main(): an exception that nothing below caught (a
// bug, a library that throws) becomes one line on stderr and exit status 1, instead of
// std::terminate's abort and core dump.
#pragma once

#include <cstdio>
#include <exception>

namespace rk::util {

template <class F> int guarded_main(const char* prog, F&& body) noexcept {
    try {
        return body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: internal error: %s\n", prog, e.what());
    } catch (...) {
        std::fprintf(stderr, "%s: internal error (unknown exception)\n", prog);
    }
    return 1;
}

} // namespace rk::util
