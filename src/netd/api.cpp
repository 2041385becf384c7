// Purpose: the embedded network's port-forwarding API (see api.hpp).
#include "netd/api.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rk::netd {
using json = nlohmann::json;

namespace {

std::string error(const std::string& desc) {
    return json{{"error", {{"desc", desc}}}}.dump();
}

std::string dotted(in_addr a) {
    char b[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, b, sizeof b);
    return b;
}

// A string field that must parse as IPv4 ("" -> `fallback`).
bool get_addr(const json& args, const char* key, in_addr fallback, in_addr& out) {
    if (!args.contains(key)) {
        out = fallback;
        return true;
    }
    const auto& v = args[key];
    if (!v.is_string()) return false;
    auto s = v.get<std::string>();
    if (s.empty()) {
        out = fallback;
        return true;
    }
    return ::inet_pton(AF_INET, s.c_str(), &out) == 1;
}

bool get_port(const json& args, const char* key, int& out) {
    if (!args.contains(key) || !args[key].is_number_integer()) return false;
    auto v = args[key].get<int64_t>();
    if (v < 1 || v > 65535) return false;
    out = static_cast<int>(v);
    return true;
}

} // namespace

std::string Api::handle(const std::string& request) {
    json j = json::parse(request, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("execute") || !j["execute"].is_string())
        return error("bad request: want {\"execute\": ..., \"arguments\": {...}}");
    std::string what = j["execute"].get<std::string>();
    json args = j.contains("arguments") ? j["arguments"] : json::object();
    if (!args.is_object()) return error("bad request: arguments must be an object");

    if (what == "add_hostfwd") {
        Forward f;
        std::string proto = args.contains("proto") && args["proto"].is_string()
                                ? args["proto"].get<std::string>()
                                : "";
        if (proto != "tcp" && proto != "udp")
            return error(fmt::format("unsupported protocol \"{}\": use tcp or udp", proto));
        f.udp = proto == "udp";
        in_addr any{};
        any.s_addr = INADDR_ANY;
        if (!get_addr(args, "host_addr", any, f.host)) return error("bad host_addr");
        if (!get_addr(args, "guest_addr", in_addr{}, f.guest) || f.guest.s_addr == 0)
            return error("bad or missing guest_addr");
        if (!get_port(args, "host_port", f.host_port)) return error("bad or missing host_port");
        if (!get_port(args, "guest_port", f.guest_port)) return error("bad or missing guest_port");
        for (const auto& o : forwards_)
            if (o.udp == f.udp && o.host_port == f.host_port &&
                (o.host.s_addr == f.host.s_addr || o.host.s_addr == INADDR_ANY ||
                 f.host.s_addr == INADDR_ANY))
                return error(fmt::format("{}:{} is already forwarded (id {})", dotted(f.host),
                                         f.host_port, o.id));
        if (int rc = fw_.add(f); rc < 0)
            return error(fmt::format("cannot listen on {}:{}/{}: {}", dotted(f.host), f.host_port,
                                     proto, std::strerror(-rc)));
        f.id = next_id_++;
        forwards_.push_back(f);
        return json{{"return", {{"id", f.id}}}}.dump();
    }
    if (what == "remove_hostfwd") {
        if (!args.contains("id") || !args["id"].is_number_integer()) return error("bad id");
        auto id = args["id"].get<int64_t>();
        for (auto it = forwards_.begin(); it != forwards_.end(); ++it) {
            if (it->id != id) continue;
            fw_.remove(*it);
            forwards_.erase(it);
            return json{{"return", json::object()}}.dump();
        }
        return error(fmt::format("unknown id: {}", id));
    }
    if (what == "list_hostfwd") {
        json entries = json::array();
        for (const auto& f : forwards_)
            entries.push_back({{"id", f.id},
                               {"proto", f.udp ? "udp" : "tcp"},
                               {"host_addr", dotted(f.host)},
                               {"host_port", f.host_port},
                               {"guest_addr", dotted(f.guest)},
                               {"guest_port", f.guest_port}});
        // slirp4netns answers this one without the "return" wrapper; so do we.
        return json{{"entries", entries}}.dump();
    }
    return error(fmt::format("unknown command \"{}\"", what));
}

} // namespace rk::netd
