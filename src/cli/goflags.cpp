// Purpose: Go-flag-compatible parsing shared by rootlesskit and rootlessctl (see goflags.hpp).
#include "cli/goflags.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace rk::cli {
using util::fail;
using util::plain_error;

util::Result<bool> parse_go_bool(std::string_view v) {
    if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
    if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False")
        return false;
    return fail(plain_error("parse error"));
}

util::Result<long long> parse_go_int(std::string_view v) {
    bool neg = false;
    if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
        neg = v[0] == '-';
        v.remove_prefix(1);
    }
    unsigned base = 10;
    bool prefixed = false;
    if (v.size() >= 2 && v[0] == '0') {
        char c = static_cast<char>(v[1] | 0x20);
        if (c == 'x')
            base = 16, prefixed = true;
        else if (c == 'o')
            base = 8, prefixed = true;
        else if (c == 'b')
            base = 2, prefixed = true;
        else
            base = 8; // leading zero: octal, as Go's base 0
        if (prefixed) v.remove_prefix(2);
    }
    if (v.empty()) return fail(plain_error("parse error"));
    unsigned long long acc = 0;
    bool any_digit = false, last_underscore = false;
    bool prev_ok_for_underscore = prefixed; // Go: '_' only after a base prefix or a digit
    for (char c : v) {
        if (c == '_') {
            if (!prev_ok_for_underscore) return fail(plain_error("parse error"));
            last_underscore = true;
            prev_ok_for_underscore = false;
            continue;
        }
        last_underscore = false;
        unsigned d;
        if (c >= '0' && c <= '9')
            d = static_cast<unsigned>(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = static_cast<unsigned>((c | 0x20) - 'a' + 10);
        else
            return fail(plain_error("parse error"));
        if (d >= base) return fail(plain_error("parse error"));
        if (acc > (static_cast<unsigned long long>(INT64_MAX) + 1 - d) / base)
            return fail(plain_error("value out of range"));
        acc = acc * base + d;
        any_digit = true;
        prev_ok_for_underscore = true;
    }
    if (!any_digit || last_underscore) return fail(plain_error("parse error"));
    if (!neg && acc > static_cast<unsigned long long>(INT64_MAX))
        return fail(plain_error("value out of range"));
    return neg ? static_cast<long long>(0 - acc) : static_cast<long long>(acc);
}

util::Result<GoFlags> parse_go_flags(const std::vector<FlagDef>& table,
                                     const std::vector<std::string>& args, size_t start) {
    auto find = [&](std::string_view name) -> const FlagDef* {
        for (const auto& f : table)
            if (f.name == name || (!f.alias.empty() && f.alias == name)) return &f;
        return nullptr;
    };
    GoFlags r;
    size_t i = start;
    for (; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a.size() < 2 || a[0] != '-') break; // first non-flag (or "-") ends the flags
        size_t dashes = 1;
        if (a[1] == '-') {
            dashes = 2;
            if (a.size() == 2) { // "--" terminates the flags and is consumed
                ++i;
                break;
            }
        }
        std::string_view body = a.substr(dashes);
        if (body.empty() || body[0] == '-' || body[0] == '=')
            return fail(plain_error(fmt::format("bad flag syntax: {}", a),
                                    "flags are -name, --name or --name=value; see --help"));
        std::string_view name = body, value;
        bool has_value = false;
        if (auto eq = body.find('='); eq != std::string_view::npos) {
            name = body.substr(0, eq);
            value = body.substr(eq + 1);
            has_value = true;
        }
        const FlagDef* f = find(name);
        if (!f)
            return fail(
                plain_error(fmt::format("flag provided but not defined: -{}", name), "see --help"));
        if (f->kind == FlagKind::Bool) {
            bool b = true;
            if (has_value) {
                auto pb = parse_go_bool(value);
                if (!pb)
                    return fail(
                        plain_error(fmt::format("invalid boolean value \"{}\" for -{}: parse error",
                                                value, name),
                                    fmt::format("use --{}=true or --{}=false", name, name)));
                b = *pb;
            }
            r.flags.push_back({f, b ? "true" : "false"});
            continue;
        }
        if (!has_value) {
            if (i + 1 >= args.size())
                return fail(plain_error(fmt::format("flag needs an argument: -{}", name),
                                        fmt::format("give it as --{}=VALUE; see --help", name)));
            value = args[++i];
        }
        if (f->kind == FlagKind::Int) {
            auto v = parse_go_int(value);
            if (!v)
                return fail(plain_error(fmt::format("invalid value \"{}\" for flag -{}: {}", value,
                                                    name, v.error().context),
                                        fmt::format("-{} takes a number; see --help", name)));
        }
        r.flags.push_back({f, std::string(value)});
    }
    r.next = i;
    return r;
}

static std::string flag_column(const FlagDef& f) {
    std::string one = "--" + std::string(f.name);
    if (f.kind != FlagKind::Bool) one += " value";
    if (!f.alias.empty()) {
        one += ", -" + std::string(f.alias);
        if (f.kind != FlagKind::Bool) one += " value";
    }
    if (f.kind == FlagKind::Slice) one += " [ " + one + " ]";
    return one;
}

std::string format_flags(const std::vector<FlagDef>& table) {
    std::map<std::string_view, std::vector<const FlagDef*>> cats;
    size_t width = 0;
    for (const auto& f : table) {
        if (f.hidden) continue;
        cats[f.category].push_back(&f);
        width = std::max(width, flag_column(f).size());
    }
    std::string out;
    for (const auto& [cat, flags] : cats) {
        if (!cat.empty()) out += fmt::format("   {}:\n\n", cat);
        for (const FlagDef* f : flags) {
            std::string usage(f->usage);
            if (!f->default_text.empty()) usage += fmt::format(" (default: {})", f->default_text);
            out += fmt::format("   {:<{}}  {}\n", flag_column(*f), width, usage);
        }
        out += "\n";
    }
    return out;
}

} // namespace rk::cli
