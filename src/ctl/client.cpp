// Purpose: a minimal HTTP/1.1 client for api.sock (see client.hpp).
#include "ctl/client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace rk::ctl {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

util::Result<HttpResult> http_request(const std::string& socket_path, const std::string& method,
                                      const std::string& target, const std::string& body) {
    asio::io_context io;
    asio::local::stream_protocol::socket sock(io);
    beast::error_code ec;
    sock.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
    if (ec) return util::fail(util::sys_error(ec.value(), "cannot connect to " + socket_path));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "rootlesskit");
    req.set(http::field::user_agent, "rootlessctl");
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    http::write(sock, req, ec);
    if (ec) return util::fail(util::sys_error(ec.value(), "cannot send the request"));
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(sock, buf, parser, ec);
    if (ec) return util::fail(util::plain_error("cannot read the response: " + ec.message()));
    auto& res = parser.get();
    return HttpResult{static_cast<int>(res.result_int()), std::string(res.reason()),
                      std::move(res.body())};
}

} // namespace rk::ctl
