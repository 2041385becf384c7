// Purpose: the REST API's routes (see router.hpp).
#include "api/router.hpp"

#include "util/strings.hpp"

#include <fmt/format.h>

namespace rk::api {

namespace {

const char* kJson = "application/json";
// Upstream writes the status before the header, so error bodies go out as sniffed text.
const char* kText = "text/plain; charset=utf-8";

Response error(int status, const std::string& message) {
    return {status, kText, error_body(message)};
}

Response not_found() {
    return {404, kText, "404 page not found\n"};
}
Response not_allowed() {
    return {405, "", ""};
}

Response no_port_driver() {
    return error(400, "no PortDriver is available");
}

} // namespace

Response route(std::string_view method, std::string_view target, std::string_view body,
               const Backend& b) {
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/v1/info") {
        if (method != "GET") return not_allowed();
        return {200, kJson, to_json(b.info())};
    }
    if (path == "/v1/ports") {
        if (method == "GET") {
            if (!b.ports) return no_port_driver();
            return {200, kJson, to_json(b.ports->list())};
        }
        if (method == "POST") {
            if (!b.ports) return no_port_driver();
            auto spec = parse_port_spec_json(body);
            if (!spec) return error(400, spec.error().context);
            auto st = b.ports->add(*spec);
            if (!st) return error(400, st.error().message());
            return {201, kJson, to_json(*st)};
        }
        return not_allowed();
    }
    const std::string_view prefix = "/v1/ports/";
    if (util::starts_with(path, prefix) && path.size() > prefix.size() &&
        path.find('/', prefix.size()) == std::string_view::npos) {
        if (method != "DELETE") return not_allowed();
        if (!b.ports) return no_port_driver();
        std::string_view id_text = path.substr(prefix.size());
        auto id = util::parse_i64(id_text);
        if (!id || *id < INT32_MIN || *id > INT32_MAX)
            return error(400, fmt::format("bad id {}: strconv.Atoi: parsing \"{}\": invalid syntax",
                                          id_text, id_text));
        if (auto st = b.ports->remove(static_cast<int>(*id)); !st)
            return error(400, st.error().message());
        return {200, "", ""};
    }
    return not_found();
}

} // namespace rk::api
