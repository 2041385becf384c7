// Purpose: the REST API server on $STATE_DIR/api.sock - HTTP/1.1 over a Unix socket with
// Boost.Beast, inside the parent's one event loop (an asio::io_context).
#pragma once

#include "api/router.hpp"
#include "util/error.hpp"

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

namespace rk::api {

struct ServerLimits {
    size_t max_body = 64 * 1024;   // larger bodies get 413
    size_t max_header = 16 * 1024; // larger headers get 431
    int idle_timeout_seconds = 30; // a client that sends nothing for this long is dropped
    size_t max_connections = 512;  // past this a new client closes the one idle longest
};

class Server {
  public:
    // Creates the socket (mode 0600; a stale one is removed first) and starts accepting.
    static util::Result<std::unique_ptr<Server>> listen(boost::asio::io_context& io,
                                                        const std::string& path, Backend backend,
                                                        ServerLimits limits = {});
    virtual ~Server() = default;
    // Stops accepting, closes every connection and removes the socket file.
    virtual void close() = 0;
};

} // namespace rk::api
