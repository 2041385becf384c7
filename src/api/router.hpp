// Purpose: the REST API's routes as a pure function of (method, target, body) - no sockets -
// so that unit tests and the fuzzer drive exactly what the server runs.
#pragma once

#include "api/model.hpp"
#include "port/driver.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace rk::api {

struct Response {
    int status = 200;
    std::string content_type; // empty: no Content-Type header
    std::string body;
};

struct Backend {
    std::function<Info()> info;
    port::Driver* ports = nullptr; // null: no port driver (--port-driver=none or implicit)
};

// GET /v1/info, GET/POST /v1/ports, DELETE /v1/ports/{id}; 405 for another method on those
// paths, 404 for any other path. `done` gets the answer: at once, or - for a port driver that
// waits on its helper - later, on the event loop's thread.
void route_async(std::string_view method, std::string_view target, std::string_view body,
                 const Backend& backend, std::function<void(Response)> done);

// route_async for backends that answer at once (unit tests, the fuzzer); a port driver that
// completes later gets a 500 here.
Response route(std::string_view method, std::string_view target, std::string_view body,
               const Backend& backend);

} // namespace rk::api
