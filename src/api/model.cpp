// Purpose: the REST API's JSON documents (see model.hpp).
#include "api/model.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sstream>

namespace rk::api {
using nlohmann::ordered_json;
using util::fail;
using util::plain_error;

namespace {

// Go's encoding/json escapes <, > and & inside strings; outside strings they cannot occur.
std::string go_dump(const ordered_json& j, int indent = -1) {
    std::string s = j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '<')
            out += "\\u003c";
        else if (c == '>')
            out += "\\u003e";
        else if (c == '&')
            out += "\\u0026";
        else
            out += c;
    }
    return out;
}

ordered_json spec_json(const port::PortSpec& s) {
    ordered_json j = ordered_json::object();
    if (!s.proto.empty()) j["proto"] = s.proto;
    if (!s.parent_ip.empty()) j["parentIP"] = s.parent_ip;
    if (s.parent_port != 0) j["parentPort"] = s.parent_port;
    if (s.child_port != 0) j["childPort"] = s.child_port;
    if (!s.child_ip.empty()) j["childIP"] = s.child_ip;
    return j;
}

ordered_json status_json(const port::PortStatus& st) {
    ordered_json j = ordered_json::object();
    j["id"] = st.id;
    j["spec"] = spec_json(st.spec);
    return j;
}

ordered_json info_json(const Info& i) {
    ordered_json j = ordered_json::object();
    j["apiVersion"] = i.api_version;
    j["version"] = i.version;
    j["stateDir"] = i.state_dir;
    j["childPID"] = i.child_pid;
    if (i.network_driver) {
        ordered_json n = ordered_json::object();
        n["driver"] = i.network_driver->driver;
        if (!i.network_driver->dns.empty()) n["dns"] = i.network_driver->dns;
        if (!i.network_driver->child_ip.empty()) n["childIP"] = i.network_driver->child_ip;
        if (i.network_driver->dynamic_child_ip) n["dynamicChildIP"] = true;
        if (i.network_driver->ipv6) n["ipv6"] = true; // API 1.1.2
        j["networkDriver"] = n;
    }
    if (i.port_driver) {
        ordered_json p = ordered_json::object();
        p["driver"] = i.port_driver->driver;
        p["protos"] = i.port_driver->protos;
        if (i.port_driver->disallow_loopback_child_ip) p["disallowLoopbackChildIP"] = true;
        if (!i.port_driver->extra.empty()) p["extra"] = i.port_driver->extra;
        j["portDriver"] = p;
    }
    if (i.socket_bypass) {
        ordered_json b = ordered_json::object();
        b["bypassed"] = i.socket_bypass->bypassed;
        b["failed"] = i.socket_bypass->failed;
        b["passed"] = i.socket_bypass->passed;
        j["socketBypass"] = b;
    }
    return j;
}

// Reads the first JSON value of `body` and ignores what follows (Go's Decoder.Decode).
util::Result<nlohmann::json> first_value(std::string_view body) {
    nlohmann::json j;
    std::istringstream in{std::string(body)};
    try {
        in >> j; // stream extraction is non-strict: it stops after the first value
    } catch (const nlohmann::json::exception& e) {
        return fail(plain_error(std::string("invalid JSON: ") + e.what()));
    }
    return j;
}

std::string go_type(const nlohmann::json& v) {
    if (v.is_string()) return "string";
    if (v.is_number()) return "number";
    if (v.is_boolean()) return "bool";
    if (v.is_array()) return "array";
    if (v.is_object()) return "object";
    return "null";
}

util::Status get_string(const nlohmann::json& j, const char* key, const char* go_field,
                        std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_string())
        return fail(plain_error(
            fmt::format("json: cannot unmarshal {} into Go struct field {} of type string",
                        go_type(*it), go_field)));
    out = it->get<std::string>();
    return {};
}

util::Status get_int(const nlohmann::json& j, const char* key, const char* go_field, int& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_number_integer())
        return fail(
            plain_error(fmt::format("json: cannot unmarshal {} into Go struct field {} of type int",
                                    go_type(*it), go_field)));
    auto v = it->get<long long>();
    if (v < INT32_MIN || v > INT32_MAX)
        return fail(
            plain_error(fmt::format("json: value out of range for Go struct field {}", go_field)));
    out = static_cast<int>(v);
    return {};
}

util::Result<port::PortSpec> spec_from(const nlohmann::json& j) {
    port::PortSpec s;
    if (j.is_null()) return s;
    if (!j.is_object())
        return fail(plain_error(fmt::format("json: cannot unmarshal {} into Go value of type "
                                            "port.Spec",
                                            go_type(j))));
    RK_TRY(get_string(j, "proto", "Spec.proto", s.proto));
    RK_TRY(get_string(j, "parentIP", "Spec.parentIP", s.parent_ip));
    RK_TRY(get_int(j, "parentPort", "Spec.parentPort", s.parent_port));
    RK_TRY(get_int(j, "childPort", "Spec.childPort", s.child_port));
    RK_TRY(get_string(j, "childIP", "Spec.childIP", s.child_ip));
    return s;
}

util::Result<port::PortStatus> status_from(const nlohmann::json& j) {
    port::PortStatus st;
    if (!j.is_object()) return fail(plain_error("unexpected port status: " + j.dump()));
    RK_TRY(get_int(j, "id", "Status.id", st.id));
    if (auto it = j.find("spec"); it != j.end()) st.spec = RK_TRY(spec_from(*it));
    return st;
}

} // namespace

std::string to_json(const Info& info) {
    return go_dump(info_json(info));
}
std::string to_pretty_json(const Info& info) {
    return go_dump(info_json(info), 4);
}
std::string to_json(const port::PortSpec& spec) {
    return go_dump(spec_json(spec));
}
std::string to_json(const port::PortStatus& st) {
    return go_dump(status_json(st));
}

std::string to_json(const std::vector<port::PortStatus>& list) {
    if (list.empty()) return "null";
    ordered_json a = ordered_json::array();
    for (const auto& st : list)
        a.push_back(status_json(st));
    return go_dump(a);
}

std::string error_body(const std::string& message) {
    ordered_json j = ordered_json::object();
    j["message"] = message;
    return go_dump(j) + "\n";
}

util::Result<port::PortSpec> parse_port_spec_json(std::string_view body) {
    auto j = RK_TRY(first_value(body));
    return spec_from(j);
}

util::Result<port::PortStatus> parse_port_status_json(std::string_view body) {
    auto j = RK_TRY(first_value(body));
    return status_from(j);
}

util::Result<std::vector<port::PortStatus>> parse_port_list_json(std::string_view body) {
    auto j = RK_TRY(first_value(body));
    std::vector<port::PortStatus> out;
    if (j.is_null()) return out;
    if (!j.is_array()) return fail(plain_error("unexpected port list: " + j.dump()));
    for (const auto& e : j)
        out.push_back(RK_TRY(status_from(e)));
    return out;
}

util::Result<Info> parse_info_json(std::string_view body) {
    auto j = RK_TRY(first_value(body));
    if (!j.is_object()) return fail(plain_error("unexpected info: " + j.dump()));
    Info i;
    try {
        i.api_version = j.value("apiVersion", "");
        i.version = j.value("version", "");
        i.state_dir = j.value("stateDir", "");
        i.child_pid = j.value("childPID", 0L);
        if (auto n = j.find("networkDriver"); n != j.end() && n->is_object()) {
            NetworkDriverInfo nd;
            nd.driver = n->value("driver", "");
            nd.dns = n->value("dns", std::vector<std::string>{});
            nd.child_ip = n->value("childIP", "");
            nd.dynamic_child_ip = n->value("dynamicChildIP", false);
            nd.ipv6 = n->value("ipv6", false);
            i.network_driver = nd;
        }
        if (auto p = j.find("portDriver"); p != j.end() && p->is_object()) {
            PortDriverInfo pd;
            pd.driver = p->value("driver", "");
            pd.protos = p->value("protos", std::vector<std::string>{});
            pd.disallow_loopback_child_ip = p->value("disallowLoopbackChildIP", false);
            pd.extra = p->value("extra", std::map<std::string, std::string>{});
            i.port_driver = pd;
        }
        if (auto b = j.find("socketBypass"); b != j.end() && b->is_object()) {
            SocketBypassInfo sb;
            sb.bypassed = b->value("bypassed", uint64_t{0});
            sb.failed = b->value("failed", uint64_t{0});
            sb.passed = b->value("passed", uint64_t{0});
            i.socket_bypass = sb;
        }
    } catch (const nlohmann::json::exception& e) {
        return fail(plain_error(std::string("unexpected info: ") + e.what()));
    }
    return i;
}

} // namespace rk::api
