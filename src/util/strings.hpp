// Purpose: small string helpers shared by the parsers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rk::util {

std::vector<std::string_view> split(std::string_view s, char sep);
// Splits on runs of ASCII whitespace, dropping empty fields.
std::vector<std::string_view> fields(std::string_view s);
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);

// Strict unsigned number (decimal, or another base up to 10, e.g. octal fdinfo flags): digits
// only, no sign, no spaces, fits in uint64.
std::optional<uint64_t> parse_u64(std::string_view s, int base = 10);
// Strict signed decimal, as for LISTEN_PID / LISTEN_FDS.
std::optional<int64_t> parse_i64(std::string_view s);

// Renders an argv the way Go prints a []string: "[a b c]".
std::string go_slice(const std::vector<std::string>& v);

} // namespace rk::util
