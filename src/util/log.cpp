// Purpose: the stderr writer behind rk::util::log.
#include "util/log.hpp"

#include <string>
#include <unistd.h>

namespace rk::util::log {
namespace {
Role g_role = Role::Parent;
bool g_debug = false;
} // namespace

void set_role(Role role) {
    g_role = role;
}
void set_debug(bool on) {
    g_debug = on;
}
bool debug_enabled() {
    return g_debug;
}

void emit(std::string_view level, std::string_view text) {
    // The padding space after "child" matches upstream's column alignment.
    std::string line = g_role == Role::Parent ? "[rootlesskit:parent] " : "[rootlesskit:child ] ";
    line += level;
    line += ": ";
    line += text;
    line += '\n';
    std::string_view rest = line;
    while (!rest.empty()) {
        ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        rest.remove_prefix(static_cast<size_t>(n));
    }
}

} // namespace rk::util::log
