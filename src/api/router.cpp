// Purpose: the REST API's routes (see router.hpp).
#include "api/router.hpp"

#include "util/strings.hpp"

#include <fmt/format.h>
#include <optional>

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

void route_async(std::string_view method, std::string_view target, std::string_view body,
                 const Backend& b, std::function<void(Response)> done) {
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/v1/info") {
        if (method != "GET") return done(not_allowed());
        return done({200, kJson, to_json(b.info())});
    }
    if (path == "/v1/ports") {
        if (method == "GET") {
            if (!b.ports) return done(no_port_driver());
            return done({200, kJson, to_json(b.ports->list())});
        }
        if (method == "POST") {
            if (!b.ports) return done(no_port_driver());
            auto spec = parse_port_spec_json(body);
            if (!spec) return done(error(400, spec.error().context));
            return b.ports->add_async(*spec, [done = std::move(done)](auto st) {
                if (!st) return done(error(400, st.error().message()));
                done({201, kJson, to_json(*st)});
            });
        }
        return done(not_allowed());
    }
    const std::string_view prefix = "/v1/ports/";
    if (util::starts_with(path, prefix) && path.size() > prefix.size() &&
        path.find('/', prefix.size()) == std::string_view::npos) {
        if (method != "DELETE") return done(not_allowed());
        if (!b.ports) return done(no_port_driver());
        std::string_view id_text = path.substr(prefix.size());
        auto id = util::parse_i64(id_text);
        if (!id || *id < INT32_MIN || *id > INT32_MAX)
            return done(error(400, fmt::format("bad id {}: strconv.Atoi: parsing \"{}\": invalid "
                                               "syntax",
                                               id_text, id_text)));
        return b.ports->remove_async(static_cast<int>(*id), [done = std::move(done)](auto st) {
            if (!st) return done(error(400, st.error().message()));
            done({200, "", ""});
        });
    }
    done(not_found());
}

Response route(std::string_view method, std::string_view target, std::string_view body,
               const Backend& backend) {
    std::optional<Response> out;
    route_async(method, target, body, backend, [&out](Response r) { out = std::move(r); });
    // Only a driver that completes later leaves it empty; its answer would come too late here.
    if (!out) return {500, kText, error_body("internal error: the port driver answers later")};
    return std::move(*out);
}

} // namespace rk::api
