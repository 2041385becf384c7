// Purpose: the REST API server (see server.hpp).
//
// Each connection is a small state machine: read one request (header and body limits, an idle
// timer), answer it through route_async() (at once, or when a port driver is done), and loop while
// the client keeps the connection alive. A bad request gets a 400 and the connection is closed;
// nothing a client sends can stop the server or block another client.
#include "api/server.hpp"

#include "util/log.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace rk::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = asio::local::stream_protocol;
using Stream = beast::basic_stream<Local, asio::any_io_executor, beast::unlimited_rate_policy>;

namespace {

class ServerImpl;

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(Local::socket sock, ServerImpl& server) : stream_(std::move(sock)), server_(server) {}
    void start() { read(); }
    void stop() {
        beast::error_code ec;
        beast::get_lowest_layer(stream_).socket().close(ec);
    }
    // When the session last started waiting for a request (accept, or the previous answer).
    std::chrono::steady_clock::time_point waiting_since() const { return since_; }

  private:
    void read();
    void on_read(beast::error_code ec);
    void write(http::response<http::string_body> res, bool close);
    void drain();

    Stream stream_;
    ServerImpl& server_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    std::array<char, 16384> scratch_{};
    size_t drained_ = 0;
    std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
};

class ServerImpl final : public Server {
  public:
    ServerImpl(asio::io_context& io, std::string path, Backend backend, ServerLimits limits)
        : acceptor_(io), retry_(io), path_(std::move(path)), backend_(std::move(backend)),
          limits_(limits) {}

    util::Status open() {
        ::unlink(path_.c_str());
        beast::error_code ec;
        acceptor_.open(Local(), ec);
        // Asio opens and accepts without SOCK_CLOEXEC: mark them, nothing we start inherits them.
        if (!ec) ::fcntl(acceptor_.native_handle(), F_SETFD, FD_CLOEXEC);
        if (!ec) {
            // Private to the user even if the state dir is not, from the moment it exists:
            // bound under umask 0177 (0600), not chmod'ed afterwards.
            mode_t old = ::umask(0177);
            acceptor_.bind(Local::endpoint(path_), ec);
            ::umask(old);
        }
        if (ec) return util::fail(util::sys_error(ec.value(), "cannot create " + path_));
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) return util::fail(util::sys_error(ec.value(), "cannot listen on " + path_));
        accept();
        return {};
    }

    void close() override {
        if (closed_) return;
        closed_ = true;
        beast::error_code ec;
        acceptor_.close(ec);
        retry_.cancel();
        for (auto& s : sessions_)
            if (auto p = s.lock()) p->stop();
        sessions_.clear();
        ::unlink(path_.c_str());
    }
    ~ServerImpl() override { close(); }

    const Backend& backend() const { return backend_; }
    const ServerLimits& limits() const { return limits_; }
    void forget(Session* s) {
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (it->lock().get() == s || it->expired()) {
                sessions_.erase(it);
                return;
            }
    }

  private:
    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, Local::socket sock) {
            if (closed_) return;
            if (!ec) {
                ::fcntl(sock.native_handle(), F_SETFD, FD_CLOEXEC);
                // Drop expired entries before counting.
                std::erase_if(sessions_, [](auto& w) { return w.expired(); });
                // At the limit the connection that has waited longest for its request
                // (idle, or sending it slowly) makes room: a flood of idle or half-sent
                // connections then sheds its own oldest members, and a client that sends
                // its request at once is always served.
                if (sessions_.size() >= limits_.max_connections) shed_oldest();
                auto s = std::make_shared<Session>(std::move(sock), *this);
                sessions_.push_back(s);
                s->start();
            } else if (ec != asio::error::operation_aborted) {
                // Out of fds, say: retrying at once would spin. Sessions ending free some.
                util::log::debug("api: accept: {}", ec.message());
                retry_.expires_after(std::chrono::milliseconds(100));
                return retry_.async_wait([this](beast::error_code wec) {
                    if (!wec && !closed_) accept();
                });
            }
            accept();
        });
    }

    void shed_oldest() {
        auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
            return a.lock()->waiting_since() < b.lock()->waiting_since();
        });
        if (oldest == sessions_.end()) return;
        if (!warned_shedding_) {
            util::log::warn("api: more than {} connections on api.sock; closing the ones idle "
                            "longest",
                            limits_.max_connections);
            warned_shedding_ = true;
        }
        auto s = oldest->lock();
        sessions_.erase(oldest);
        s->stop();
    }

    Local::acceptor acceptor_;
    asio::steady_timer retry_;
    std::string path_;
    Backend backend_;
    ServerLimits limits_;
    std::vector<std::weak_ptr<Session>> sessions_;
    bool closed_ = false;
    bool warned_shedding_ = false;
};

void Session::read() {
    since_ = std::chrono::steady_clock::now();
    parser_.emplace();
    parser_->body_limit(server_.limits().max_body);
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits().max_header));
    stream_.expires_after(std::chrono::seconds(server_.limits().idle_timeout_seconds));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
}

void Session::on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor) {
        server_.forget(this);
        return;
    }
    if (ec) {
        int status = ec == http::error::body_limit     ? 413
                     : ec == http::error::header_limit ? 431
                                                       : 400;
        http::response<http::string_body> res{static_cast<http::status>(status), 11};
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\n";
        write(std::move(res), true);
        return;
    }
    auto& req = parser_->get();
    // The answer may come later (a port driver waiting on its helper): the session stays
    // alive through the callback, and reads nothing more until it has answered.
    auto respond = [self = shared_from_this(), version = req.version(),
                    keep_alive = req.keep_alive()](Response r) {
        http::response<http::string_body> res{static_cast<http::status>(r.status), version};
        if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
        res.body() = std::move(r.body);
        res.keep_alive(keep_alive);
        self->write(std::move(res), !keep_alive);
    };
    try {
        route_async(std::string_view(req.method_string().data(), req.method_string().size()),
                    std::string_view(req.target().data(), req.target().size()), req.body(),
                    server_.backend(), respond);
    } catch (const std::exception& e) {
        // A bug behind one request answers that request, and nothing else is affected.
        util::log::error("api: internal error on {} {}: {}", std::string(req.method_string()),
                         std::string(req.target()), e.what());
        respond({500, "text/plain; charset=utf-8",
                 error_body(std::string("internal error: ") + e.what())});
    }
}

void Session::write(http::response<http::string_body> res, bool close) {
    res_ = std::move(res);
    res_.prepare_payload();
    stream_.expires_after(std::chrono::seconds(server_.limits().idle_timeout_seconds));
    http::async_write(stream_, res_,
                      [self = shared_from_this(), close](beast::error_code ec, size_t) {
                          if (ec) {
                              self->server_.forget(self.get());
                              return;
                          }
                          if (close) {
                              beast::error_code ignored;
                              beast::get_lowest_layer(self->stream_)
                                  .socket()
                                  .shutdown(Local::socket::shutdown_send, ignored);
                              self->drain();
                              return;
                          }
                          self->read(); // pipelined bytes stay in buffer_ for the next parse
                      });
}

// A lingering close: after an answer that ends the connection (e.g. 413 while the client is
// still sending its body), read and discard what the client sends - up to 4 MiB or 2 s - so
// that its writes do not fail with EPIPE before it has read our answer.
void Session::drain() {
    stream_.expires_after(std::chrono::seconds(2));
    stream_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                                if (!ec) self->drained_ += n;
                                if (ec || self->drained_ > (4u << 20)) {
                                    self->server_.forget(self.get());
                                    return;
                                }
                                self->drain();
                            });
}

} // namespace

util::Result<std::unique_ptr<Server>> Server::listen(asio::io_context& io, const std::string& path,
                                                     Backend backend, ServerLimits limits) {
    if (path.size() >= sizeof(sockaddr_un{}.sun_path))
        return util::fail(util::plain_error(
            "the socket path " + path + " is longer than the 107 bytes a Unix socket allows",
            "use a shorter --state-dir"));
    auto s = std::make_unique<ServerImpl>(io, path, std::move(backend), limits);
    RK_TRY(s->open());
    return std::unique_ptr<Server>(std::move(s));
}

} // namespace rk::api
