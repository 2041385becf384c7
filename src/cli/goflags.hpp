// Purpose: command-line parsing with the semantics of Go's `flag` package as urfave/cli v2 uses
// it, shared by rootlesskit and rootlessctl: -flag and --flag alike, `=value` or a separate
// value, bools take a value only with `=`, parsing stops at the first non-flag or at `--`.
#pragma once

#include "util/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rk::cli {

enum class FlagKind { Bool, String, Int, Slice };

struct FlagDef {
    std::string_view name;
    std::string_view alias; // one-letter alias or empty
    std::string_view category;
    FlagKind kind;
    std::string_view usage;
    std::string_view default_text; // shown as "(default: X)"; empty = not shown
    bool hidden = false;           // accepted but not listed (feature not built yet)
};

struct FlagOccurrence {
    const FlagDef* def;
    std::string value; // as given; bools: "true"/"false"
};

struct GoFlags {
    std::vector<FlagOccurrence> flags; // in command-line order
    size_t next = 0;                   // index of the first argument after the flags
};

// Parses args[start..] against `table`. Errors read like Go's: "flag provided but not
// defined: -foo", "flag needs an argument: -net", "invalid boolean value ...".
util::Result<GoFlags> parse_go_flags(const std::vector<FlagDef>& table,
                                     const std::vector<std::string>& args, size_t start = 0);

// Parses a Go strconv.ParseBool value.
util::Result<bool> parse_go_bool(std::string_view v);
// Parses a Go strconv.ParseInt(v, 0, 64) value (0x/0o/0b/0 prefixes, sign, '_' separators).
util::Result<long long> parse_go_int(std::string_view v);

// The OPTIONS part of a help text: categories (alphabetical; "" = none) with aligned flags.
std::string format_flags(const std::vector<FlagDef>& table);

} // namespace rk::cli
