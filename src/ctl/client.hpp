// Purpose: a minimal HTTP/1.1 client for api.sock (Boost.Beast, synchronous), used by
// rootlessctl and the tests.
#pragma once

#include "util/error.hpp"

#include <string>

namespace rk::ctl {

struct HttpResult {
    int status = 0;
    std::string reason;
    std::string body;
};

util::Result<HttpResult> http_request(const std::string& socket_path, const std::string& method,
                                      const std::string& target, const std::string& body = {});

} // namespace rk::ctl
