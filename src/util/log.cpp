// Purpose: the stderr writer behind rk::util::log.
#include "util/log.hpp"

#include <ctime>
#include <fmt/format.h>
#include <string>
#include <unistd.h>

namespace rk::util::log {
namespace {
Role g_role = Role::Parent;
bool g_debug = false;
int g_fd = STDERR_FILENO;
} // namespace

void set_output_fd(int fd) {
    g_fd = fd;
}

void set_role(Role role) {
    g_role = role;
}
void set_debug(bool on) {
    g_debug = on;
}
bool debug_enabled() {
    return g_debug;
}

void phase(std::string_view name) {
    if (!g_debug) return;
    // CLOCK_BOOTTIME minus our start time from /proc would cost syscalls; the monotonic clock
    // relative to the first call is enough to compare phases.
    static timespec start = [] {
        timespec t{};
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t;
    }();
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = static_cast<double>(now.tv_sec - start.tv_sec) * 1e3 +
                static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e6;
    emit("debug", fmt::format("phase {} at {:.3f} ms", name, ms));
}

void emit(std::string_view level, std::string_view text) {
    // The padding space after "child" matches upstream's column alignment.
    std::string line = g_role == Role::Parent ? "[rootlesskit:parent] " : "[rootlesskit:child ] ";
    line += level;
    line += ": ";
    line += text;
    line += '\n';
    if (g_fd < 0) return;
    std::string_view rest = line;
    while (!rest.empty()) {
        ssize_t n = ::write(g_fd, rest.data(), rest.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        rest.remove_prefix(static_cast<size_t>(n));
    }
}

} // namespace rk::util::log
