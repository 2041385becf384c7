// Purpose: port spec parsing and validation (see spec.hpp).
//
// Upstream runs the part before the child port through Go's text/scanner, which skips
// whitespace and glues tokens back together; fields are separated by ':' and a field may be
// bracketed ("[::1]"). We reproduce the observable result: whitespace in that part is ignored,
// brackets delimit a field, and anything else is taken literally.
#include "port/spec.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <optional>
#include <vector>

namespace rk::port {
using util::fail;
using util::plain_error;

bool known_proto(std::string_view p) {
    for (std::string_view k :
         {"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "sctp", "sctp4", "sctp6"})
        if (p == k) return true;
    return false;
}

bool is_ip_literal(std::string_view ip) {
    std::string s(ip);
    unsigned char buf[16];
    return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string plain_ipv4(std::string_view ip) {
    std::string s(ip);
    in6_addr a{};
    if (::inet_pton(AF_INET6, s.c_str(), &a) != 1 || !IN6_IS_ADDR_V4MAPPED(&a)) return s;
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof buf);
    return buf;
}

PortSpec with_plain_ipv4(PortSpec spec) {
    spec.parent_ip = plain_ipv4(spec.parent_ip);
    spec.child_ip = plain_ipv4(spec.child_ip);
    return spec;
}

namespace {

// Go's strconv.Atoi: optional sign, decimal digits, fits in int64 (then we bound to int).
std::optional<long long> go_atoi(std::string_view s) {
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s.empty() || s.size() > 18) return std::nullopt;
    long long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return neg ? -v : v;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Splits "<parentIP>:<parentPort>[:<childIP>]" into fields; nullopt if malformed.
std::optional<std::vector<std::string>> split_fields(std::string_view s) {
    std::string compact;
    for (char c : s)
        if (!is_space(c)) compact += c;
    std::vector<std::string> fields;
    size_t i = 0;
    for (;;) {
        std::string field;
        if (i < compact.size() && compact[i] == '[') {
            size_t close = compact.find(']', i);
            if (close == std::string::npos) return std::nullopt;
            field = compact.substr(i + 1, close - i - 1);
            i = close + 1;
            if (i < compact.size() && compact[i] != ':') return std::nullopt;
        } else {
            size_t colon = compact.find(':', i);
            field = compact.substr(i, colon == std::string::npos ? std::string::npos : colon - i);
            if (field.find_first_of("[]") != std::string::npos) return std::nullopt;
            i = colon == std::string::npos ? compact.size() : colon;
        }
        fields.push_back(field);
        if (i >= compact.size()) break;
        ++i; // the ':'
        if (i == compact.size()) {
            fields.emplace_back();
            break;
        }
    }
    return fields;
}

} // namespace

util::Result<PortSpec> parse_port_spec(std::string_view s) {
    auto quoted = fmt::format("\"{}\"", s);
    auto slash = s.rfind('/');
    if (slash == std::string_view::npos)
        return fail(plain_error("missing proto in PortSpec string: " + quoted,
                                "write it like 127.0.0.1:8080:80/tcp"));
    PortSpec spec;
    spec.proto = std::string(s.substr(slash + 1));
    if (!known_proto(spec.proto))
        return fail(plain_error(
            fmt::format("invalid PortSpec string: {}: unknown proto: \"{}\"", quoted, spec.proto),
            "use tcp, tcp4, tcp6, udp, udp4, udp6, sctp, sctp4 or sctp6"));
    // The grammar, for the hints below: the parent IP may be empty but not left out.
    constexpr const char* kGrammar =
        "write PARENT_IP:PARENT_PORT[:CHILD_IP]:CHILD_PORT/PROTO; PARENT_IP may be empty "
        "(:8080:80/tcp listens on every address), IPv6 addresses go in brackets";
    auto head = s.substr(0, slash);
    auto colon = head.rfind(':');
    if (colon == std::string_view::npos)
        return fail(plain_error("invalid PortSpec string: " + quoted,
                                "give the parent IP and port, e.g. 0.0.0.0:8080:80/tcp or "
                                ":8080:80/tcp"));
    auto child_port = head.substr(colon + 1);
    auto fields = split_fields(head.substr(0, colon));
    // Docker's 8080:80 form: the parent IP is not optional here (nor upstream)
    if (fields && fields->size() == 1 && go_atoi((*fields)[0]))
        return fail(plain_error(
            "invalid PortSpec string: " + quoted,
            fmt::format("the parent IP cannot be left out: write :{}/{} for every address, or "
                        "127.0.0.1:{}/{} for loopback only",
                        head, spec.proto, head, spec.proto)));
    if (!fields || fields->size() < 2 || fields->size() > 3)
        return fail(plain_error("invalid PortSpec string: " + quoted, kGrammar));
    spec.parent_ip = (*fields)[0];
    if (!spec.parent_ip.empty() && !is_ip_literal(spec.parent_ip))
        return fail(plain_error("unexpected ParentIP in PortSpec string: " + quoted, kGrammar));
    auto pp = go_atoi((*fields)[1]);
    if (!pp)
        return fail(
            plain_error(fmt::format("unexpected ParentPort in PortSpec string: {}: strconv.Atoi: "
                                    "parsing \"{}\": invalid syntax",
                                    quoted, (*fields)[1]),
                        kGrammar));
    if (fields->size() == 3) {
        spec.child_ip = (*fields)[2];
        if (!spec.child_ip.empty() && !is_ip_literal(spec.child_ip))
            return fail(plain_error("unexpected ChildIP in PortSpec string: " + quoted, kGrammar));
    }
    auto cp = go_atoi(child_port);
    if (!cp)
        return fail(
            plain_error(fmt::format("unexpected ChildPort in PortSpec string: {}: strconv.Atoi: "
                                    "parsing \"{}\": invalid syntax",
                                    quoted, child_port),
                        kGrammar));
    // Upstream keeps Go ints and leaves the range to validation; ours are ints, so a number
    // past them gets validation's message here, with the number as written.
    for (auto [v, field] : {std::pair{*pp, "ParentPort"}, std::pair{*cp, "ChildPort"}})
        if (v < INT32_MIN || v > INT32_MAX)
            return fail(plain_error(fmt::format("invalid {}: {} (must be 1-65535)", field, v)));
    spec.parent_port = static_cast<int>(*pp);
    spec.child_port = static_cast<int>(*cp);
    return spec;
}

util::Status validate_port_spec(const PortSpec& s, const std::map<int, PortSpec>& existing,
                                AnyParentPort any) {
    if (!known_proto(s.proto))
        return fail(plain_error("unknown proto: \"" + s.proto + "\"",
                                "use tcp, tcp4, tcp6, udp, udp4, udp6, sctp, sctp4 or sctp6"));
    if (!s.parent_ip.empty() && !is_ip_literal(s.parent_ip))
        return fail(plain_error("invalid ParentIP: \"" + s.parent_ip + "\"",
                                "an IP address literal, or empty for every address"));
    if (!s.child_ip.empty() && !is_ip_literal(s.child_ip))
        return fail(plain_error("invalid ChildIP: \"" + s.child_ip + "\"",
                                "an IP address literal, or empty for the namespace's own"));
    const bool any_port = s.parent_port == 0 && any == AnyParentPort::Allowed;
    if (s.parent_port == 0 && !any_port)
        return fail(plain_error("invalid ParentPort: 0 (must be 1-65535)",
                                "0 (any free port) works with --port-driver=builtin only"));
    if (!any_port && (s.parent_port < 1 || s.parent_port > 65535))
        return fail(
            plain_error(fmt::format("invalid ParentPort: {} (must be 1-65535)", s.parent_port)));
    if (s.child_port < 1 || s.child_port > 65535)
        return fail(
            plain_error(fmt::format("invalid ChildPort: {} (must be 1-65535)", s.child_port)));
    if (any_port) return {};
    for (const auto& [id, e] : existing)
        if (e.proto == s.proto && e.parent_ip == s.parent_ip && e.parent_port == s.parent_port)
            return fail(plain_error(fmt::format("conflict with ID {}", id)));
    return {};
}

std::string go_notation(const PortSpec& s) {
    return fmt::format("{{{} {} {} {} {}}}", s.proto, s.parent_ip, s.parent_port, s.child_port,
                       s.child_ip);
}

} // namespace rk::port
