// Purpose: diagnostics on stderr, prefixed with the role ("[rootlesskit:parent] ").
#pragma once

#include <fmt/format.h>
#include <string_view>

namespace rk::util::log {

enum class Role { Parent, Child };

void set_role(Role role);
void set_debug(bool on);
// Where lines go (default stderr; -1 drops them, as fuzz targets want).
void set_output_fd(int fd);
bool debug_enabled();

// One line to stderr: "<prefix> <level>: <text>". Kept to a single write(2) so that lines
// from the parent and the child never interleave mid-line.
void emit(std::string_view level, std::string_view text);

template <typename... A> void debug(fmt::format_string<A...> f, A&&... a) {
    if (debug_enabled()) emit("debug", fmt::format(f, std::forward<A>(a)...));
}
// With --debug: "phase <name> at <ms since process start> ms" - start-up is a feature.
void phase(std::string_view name);

template <typename... A> void warn(fmt::format_string<A...> f, A&&... a) {
    emit("warning", fmt::format(f, std::forward<A>(a)...));
}
template <typename... A> void error(fmt::format_string<A...> f, A&&... a) {
    emit("error", fmt::format(f, std::forward<A>(a)...));
}

} // namespace rk::util::log
