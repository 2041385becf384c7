// Purpose: sub-ID ranges of the invoking user, from /etc/subuid+/etc/subgid ("static") or
// from getsubids(1) ("dynamic"), and the parsers for both formats.
#pragma once

#include "proto/options.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace rk::parent {

struct SubidRange {
    uint64_t start = 0;
    uint64_t count = 0;
    bool operator==(const SubidRange&) const = default;
};

struct User {
    uid_t uid = 0;
    gid_t gid = 0; // primary group from passwd
    std::string name;
};

enum class IdKind { Uid, Gid };

// Lines of an /etc/subuid-style file that belong to `user` (by name or by decimal uid), in
// file order. Blank lines and '#' comments are skipped; any other malformed line is an error
// naming the file and the line number.
util::Result<std::vector<SubidRange>> parse_subid_file(std::string_view content, const User& user,
                                                       const std::string& filename);

struct GetsubidsOutput {
    std::vector<SubidRange> ranges;
    std::vector<std::string> warnings;
};
// Output of `getsubids [-g] USER`: lines "N: owner start count".
util::Result<GetsubidsOutput> parse_getsubids_output(std::string_view out);

struct SubidRanges {
    std::vector<SubidRange> uids;
    std::vector<SubidRange> gids;
};

// Looks the ranges up as --subid-source says. Fails when either list is empty, with the line
// to add to /etc/subuid or /etc/subgid.
util::Result<SubidRanges> lookup_subids(const std::string& source, const User& user);

// Appends `more` to `into`, skipping exact duplicates.
void merge_unique(std::vector<SubidRange>& into, const std::vector<SubidRange>& more);

} // namespace rk::parent
