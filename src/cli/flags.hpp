// Purpose: the rootlesskit command line, parsed with the semantics of Go's `flag` package as
// urfave/cli v2 uses it (see docs/cli.md): -flag and --flag alike, `=value` or a separate
// value, bools take a value only with `=`, parsing stops at the first non-flag or at `--`,
// --copy-up and --publish/-p repeat and split on commas, the last scalar wins.
#pragma once

#include "cli/goflags.hpp"
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

// The flags in help order (category, then definition order).
const std::vector<FlagDef>& flag_table();

// Parses argv[1:]. Errors read like Go's: "flag provided but not defined: -foo".
util::Result<ParseResult> parse(const std::vector<std::string>& args);

// --help text (urfave/cli v2 layout: NAME, USAGE, VERSION, DESCRIPTION, OPTIONS by category).
std::string help_text();
std::string version_string();

// Checks the option combinations the parent can check before creating anything, and prints
// the warnings upstream prints. Errors name the flag and the fix.
util::Status validate(proto::Options& opts);

} // namespace rk::cli
