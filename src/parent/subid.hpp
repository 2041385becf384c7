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

// Where a new range of `count` sub-IDs for a user can go without taking anyone's: the first
// multiple of `count` at or above 100000 past the end of every range in the texts of
// /etc/subuid and /etc/subgid (anyone's lines, malformed ones skipped), moved past `own_ids`
// (the user's uid and gid, which newuidmap refuses inside a range). The same start serves
// both files. Every hint that suggests a range uses it.
uint64_t free_subid_start(std::string_view subuid, std::string_view subgid,
                          const std::vector<uint64_t>& own_ids, uint64_t count = 65536);
// The same, from this machine's files.
uint64_t free_subid_start_here(const User& user, uint64_t count = 65536);

// Appends `more` to `into`, skipping exact duplicates.
void merge_unique(std::vector<SubidRange>& into, const std::vector<SubidRange>& more);

} // namespace rk::parent
