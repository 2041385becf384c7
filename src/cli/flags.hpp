// Purpose: the rootlesskit command line, parsed with the semantics of Go's `flag` package as
// urfave/cli v2 uses it (see docs/cli.md): -flag and --flag alike, `=value` or a separate
// value, bools take a value only with `=`, parsing stops at the first non-flag or at `--`,
// --copy-up and --publish/-p repeat and split on commas, the last scalar wins.
#pragma once

#include "proto/options.hpp"
#include "util/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rk::cli {

enum class Action { Run, Help, Version, PrintSemver };

struct ParseResult {
    Action action = Action::Run;
    proto::Options opts;
    std::string semver_part; // --print-semver value
};

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

// The flags in help order (category, then definition order).
const std::vector<FlagDef>& flag_table();

// Parses argv[1:]. Errors read like Go's: "flag provided but not defined: -foo".
util::Result<ParseResult> parse(const std::vector<std::string>& args);

// Parses a Go strconv.ParseBool value.
util::Result<bool> parse_go_bool(std::string_view v);
// Parses a Go strconv.ParseInt(v, 0, 64) value (0x/0o/0b/0 prefixes, sign, '_' separators).
util::Result<long long> parse_go_int(std::string_view v);

// --help text (urfave/cli v2 layout: NAME, USAGE, VERSION, DESCRIPTION, OPTIONS by category).
std::string help_text();
std::string version_string();

// Checks the option combinations the parent can check before creating anything, and prints
// the warnings upstream prints. Errors name the flag and the fix.
util::Status validate(proto::Options& opts);

} // namespace rk::cli
