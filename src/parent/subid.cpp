// Purpose: sub-ID ranges of the invoking user (see subid.hpp).
#include "parent/subid.hpp"

#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace rk::parent {
using util::fail;
using util::plain_error;

namespace {

const char* kSubuidFile = "/etc/subuid";
const char* kSubgidFile = "/etc/subgid";

std::string add_line_hint(const User& u) {
    const uint64_t start = free_subid_start_here(u);
    const uint64_t last = start + 65535;
    if (u.uid == 0)
        return fmt::format("rootless mode is for an unprivileged user: run rootlesskit as the "
                           "user who will run the daemon; only to test it as root, add "
                           "\"root:{}:65536\" to /etc/subuid and /etc/subgid",
                           start);
    return fmt::format("as root, add a range for the user that no one else has, e.g. `usermod "
                       "--add-subuids {}-{} --add-subgids {}-{} {}`, which writes the line "
                       "\"{}:{}:65536\" to /etc/subuid and /etc/subgid",
                       start, last, start, last, u.name, u.name, start);
}

} // namespace

uint64_t free_subid_start(std::string_view subuid, std::string_view subgid,
                          const std::vector<uint64_t>& own_ids, uint64_t count) {
    uint64_t end = 100000;
    for (auto text : {subuid, subgid})
        for (auto line : util::split(text, '\n')) {
            line = util::trim(line);
            if (line.empty() || line.front() == '#') continue;
            auto parts = util::split(line, ':');
            if (parts.size() != 3) continue;
            auto s = util::parse_u64(parts[1]);
            auto c = util::parse_u64(parts[2]);
            if (s && c && *s <= UINT32_MAX && *c <= UINT32_MAX) end = std::max(end, *s + *c);
        }
    auto round_up = [count](uint64_t v) { return (v + count - 1) / count * count; };
    uint64_t start = round_up(end);
    for (bool moved = true; moved;) {
        moved = false;
        for (uint64_t id : own_ids)
            if (id >= start && id - start < count) {
                start = round_up(id + 1);
                moved = true;
            }
    }
    return start;
}

uint64_t free_subid_start_here(const User& user, uint64_t count) {
    auto uids = sys::read_file(kSubuidFile);
    auto gids = sys::read_file(kSubgidFile);
    return free_subid_start(uids ? *uids : std::string{}, gids ? *gids : std::string{},
                            {user.uid, user.gid}, count);
}

void merge_unique(std::vector<SubidRange>& into, const std::vector<SubidRange>& more) {
    for (const auto& r : more)
        if (std::find(into.begin(), into.end(), r) == into.end()) into.push_back(r);
}

util::Result<std::vector<SubidRange>> parse_subid_file(std::string_view content, const User& user,
                                                       const std::string& filename) {
    std::vector<SubidRange> out;
    std::string uid_str = std::to_string(user.uid);
    size_t lineno = 0;
    for (auto raw : util::split(content, '\n')) {
        ++lineno;
        auto line = util::trim(raw);
        if (line.empty() || line[0] == '#') continue;
        auto parts = util::split(line, ':');
        auto start = parts.size() == 3 ? util::parse_u64(parts[1]) : std::nullopt;
        auto count = parts.size() == 3 ? util::parse_u64(parts[2]) : std::nullopt;
        if (!start || !count || parts[0].empty())
            return fail(plain_error(
                fmt::format("cannot parse {} line {}: expected NAME:START:COUNT, got \"{}\"",
                            filename, lineno, line),
                "fix or remove that line (as root)"));
        if (parts[0] != user.name && parts[0] != uid_str) continue;
        if (*count == 0 || *start > UINT32_MAX || *count > UINT32_MAX ||
            *start + *count > uint64_t{UINT32_MAX} + 1)
            return fail(plain_error(fmt::format("{} line {}: range {}:{} is empty or beyond 2^32",
                                                filename, lineno, *start, *count),
                                    "fix that line (as root)"));
        out.push_back({*start, *count});
    }
    return out;
}

util::Result<GetsubidsOutput> parse_getsubids_output(std::string_view out) {
    GetsubidsOutput r;
    for (auto raw : util::split(out, '\n')) {
        auto line = util::trim(raw);
        if (line.empty() || line[0] == '#') continue;
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
            return fail(plain_error(fmt::format("unexpected getsubids output line \"{}\"", line)));
        auto rest = line.substr(colon + 1);
        if (rest.find(':') != std::string_view::npos)
            r.warnings.push_back(fmt::format("getsubids line has extra colons: \"{}\"", line));
        auto f = util::fields(rest);
        if (f.size() < 3)
            return fail(plain_error(fmt::format("unexpected getsubids output line \"{}\"", line)));
        if (f.size() > 3)
            r.warnings.push_back(fmt::format("getsubids line has extra fields: \"{}\"", line));
        auto start = util::parse_u64(f[1]);
        auto count = util::parse_u64(f[2]);
        if (!start || !count || *start > UINT32_MAX || *count > UINT32_MAX)
            return fail(plain_error(fmt::format("unexpected getsubids output line \"{}\"", line)));
        r.ranges.push_back({*start, *count});
    }
    return r;
}

namespace {

util::Result<SubidRanges> lookup_static(const User& u) {
    SubidRanges r;
    auto uid_txt = sys::read_file(kSubuidFile);
    if (!uid_txt)
        return fail(
            uid_txt.error().wrap("cannot read sub-UIDs").wrap("failed to setup UID/GID map"));
    auto gid_txt = sys::read_file(kSubgidFile);
    if (!gid_txt)
        return fail(
            gid_txt.error().wrap("cannot read sub-GIDs").wrap("failed to setup UID/GID map"));
    // A line repeated verbatim (easy to get with useradd plus a manual edit) is harmless.
    merge_unique(r.uids, RK_TRY(parse_subid_file(*uid_txt, u, kSubuidFile)));
    merge_unique(r.gids, RK_TRY(parse_subid_file(*gid_txt, u, kSubgidFile)));
    return r;
}

// Runs the four getsubids queries at once; a kind fails only if both its queries fail.
util::Result<SubidRanges> lookup_dynamic(const User& u) {
    const char* env = ::getenv("GETSUBIDS");
    std::string exe = env && *env ? env : "getsubids";
    if (!sys::find_in_path(exe))
        return fail(plain_error(exe + ": executable file not found in $PATH",
                                "install the uidmap package, or use --subid-source=static"));
    std::string uid = std::to_string(u.uid);
    std::vector<std::vector<std::string>> queries = {
        {exe, u.name}, {exe, uid}, {exe, "-g", u.name}, {exe, "-g", uid}};
    std::vector<sys::Helper> running;
    for (auto& q : queries)
        running.push_back(RK_TRY(sys::spawn_helper(q)));
    std::vector<std::optional<std::vector<SubidRange>>> results;
    std::string errors;
    for (auto& h : running) {
        auto res = RK_TRY(sys::finish_helper(h));
        if (!res.ok()) {
            results.emplace_back();
            errors += fmt::format("; {}: {}", util::go_slice(h.argv), util::trim(res.output));
            continue;
        }
        auto parsed = RK_TRY(parse_getsubids_output(res.output));
        for (const auto& w : parsed.warnings)
            util::log::warn("{}", w);
        results.emplace_back(std::move(parsed.ranges));
    }
    SubidRanges r;
    for (int kind = 0; kind < 2; ++kind) {
        auto& by_name = results[static_cast<size_t>(kind * 2)];
        auto& by_uid = results[static_cast<size_t>(kind * 2 + 1)];
        // Both queries failing is how getsubids says "no ranges" ("Error fetching ranges");
        // the caller turns an empty list into the actionable error.
        if (!by_name && !by_uid) util::log::debug("getsubids found nothing{}", errors);
        auto& dst = kind == 0 ? r.uids : r.gids;
        if (by_name) merge_unique(dst, *by_name);
        if (by_uid) merge_unique(dst, *by_uid);
    }
    return r;
}

// getsubids only consults something other than /etc/sub[ug]id when nsswitch.conf names a
// "subid:" service; without one, reading the files ourselves gives the same answer without
// four process start-ups.
bool nsswitch_has_subid_service() {
    auto txt = sys::read_file("/etc/nsswitch.conf");
    if (!txt) return false;
    for (auto line : util::split(*txt, '\n')) {
        auto t = util::trim(line);
        if (util::starts_with(t, "subid:") && !util::trim(t.substr(6)).empty() &&
            util::trim(t.substr(6)) != "files")
            return true;
    }
    return false;
}

} // namespace

util::Result<SubidRanges> lookup_subids(const std::string& source, const User& u) {
    SubidRanges r;
    if (source == "static") {
        r = RK_TRY(lookup_static(u));
    } else if (source == "dynamic") {
        r = RK_TRY_CTX(lookup_dynamic(u), "failed to setup UID/GID map");
    } else if (!nsswitch_has_subid_service() && !::getenv("GETSUBIDS")) {
        r = RK_TRY(lookup_static(u));
    } else {
        auto d = lookup_dynamic(u);
        if (d && !d->uids.empty() && !d->gids.empty()) {
            r = std::move(*d);
        } else {
            if (!d) util::log::debug("dynamic subid lookup failed: {}", d.error().message());
            r = RK_TRY(lookup_static(u));
        }
    }
    if (r.uids.empty())
        return fail(plain_error(fmt::format("No subuid ranges found for user {} (\"{}\") in {}",
                                            u.uid, u.name, kSubuidFile),
                                add_line_hint(u)));
    if (r.gids.empty())
        return fail(plain_error(fmt::format("No subgid ranges found for user {} (\"{}\") in {}",
                                            u.uid, u.name, kSubgidFile),
                                add_line_hint(u)));
    return r;
}

} // namespace rk::parent
