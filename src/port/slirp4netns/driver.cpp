// Purpose: the slirp4netns port driver (see driver.hpp).
//
// One request per connection to the API socket: write the JSON request, half-close, read the
// reply to EOF (slirp4netns' protocol). Requests from the API run on the event loop without
// blocking it (AsyncCall), one at a time in arrival order; the -p ports at start-up run the same
// steps on a loop of their own (SerialDriver). A helper that is stopped is reported before any
// call, and a deadline of kCallDeadline for the whole exchange bounds one that is wedged.
#include "port/slirp4netns/driver.hpp"

#include "port/serial.hpp"
#include "sys/process.hpp"
#include "sys/syscalls.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fmt/format.h>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/socket.h>
#include <sys/un.h>

namespace rk::port::slirp4netns {
namespace asio = boost::asio;
using json = nlohmann::json;
using util::fail;
using util::plain_error;

util::Result<std::string> add_request(const PortSpec& submitted,
                                      const std::string& default_child_ip) {
    PortSpec s = with_plain_ipv4(submitted);
    std::string proto = s.proto;
    if (!proto.empty() && proto.back() == '6')
        return fail(plain_error(fmt::format("unsupported protocol \"{}\"", proto),
                                "slirp4netns forwards IPv4 only: use tcp, tcp4, udp or udp4"));
    if (!proto.empty() && proto.back() == '4') proto.pop_back();
    if (proto != "tcp" && proto != "udp")
        return fail(plain_error(fmt::format("unsupported protocol \"{}\"", s.proto),
                                "use tcp, tcp4, udp or udp4"));
    std::string guest = s.child_ip.empty() ? default_child_ip : s.child_ip;
    in_addr a{};
    if (::inet_pton(AF_INET, guest.c_str(), &a) != 1)
        return fail(plain_error("unsupported IP (v6?): " + guest,
                                "slirp4netns forwards to IPv4 addresses in the namespace only"));
    json req = {{"execute", "add_hostfwd"},
                {"arguments",
                 {{"proto", proto},
                  {"host_addr", s.parent_ip},
                  {"host_port", s.parent_port},
                  {"guest_addr", guest},
                  {"guest_port", s.child_port}}}};
    return req.dump();
}

namespace {

std::string error_text(const json& j) {
    const auto& e = j.at("error");
    if (e.is_object() && e.contains("desc") && e["desc"].is_string())
        return e["desc"].get<std::string>();
    return e.dump();
}

} // namespace

util::Result<int> parse_add_reply(const std::string& reply) {
    json j = json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail(plain_error("slirp4netns answered with something else than JSON: " + reply));
    if (j.contains("error")) return fail(plain_error("slirp4netns: " + error_text(j)));
    if (!j.contains("return") || !j["return"].is_object() || !j["return"].contains("id") ||
        !j["return"]["id"].is_number_integer())
        return fail(plain_error("unexpected answer from slirp4netns: " + reply));
    return j["return"]["id"].get<int>();
}

std::string remove_request(int id) {
    return json{{"execute", "remove_hostfwd"}, {"arguments", {{"id", id}}}}.dump();
}

std::string list_request() {
    return json{{"execute", "list_hostfwd"}}.dump();
}

util::Status parse_plain_reply(const std::string& reply) {
    json j = json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail(plain_error("slirp4netns answered with something else than JSON: " + reply));
    if (j.contains("error")) return fail(plain_error("slirp4netns: " + error_text(j)));
    return {};
}

util::Result<std::vector<int>> parse_list_reply(const std::string& reply) {
    RK_TRY(parse_plain_reply(reply));
    json j = json::parse(reply);
    // slirp4netns answers {"entries":[...]}; accept the {"return":{...}} wrapper of its other
    // answers too.
    const json* entries = nullptr;
    if (j.contains("entries"))
        entries = &j["entries"];
    else if (j.contains("return") && j["return"].is_object() && j["return"].contains("entries"))
        entries = &j["return"]["entries"];
    if (!entries || !entries->is_array())
        return fail(plain_error("unexpected answer from slirp4netns: " + reply));
    std::vector<int> ids;
    for (const auto& e : *entries) {
        if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer())
            return fail(plain_error("unexpected answer from slirp4netns: " + reply));
        auto id = e["id"].get<int64_t>();
        if (id < INT32_MIN || id > INT32_MAX)
            return fail(plain_error("unexpected answer from slirp4netns: " + reply));
        ids.push_back(static_cast<int>(id));
    }
    return ids;
}

namespace {

constexpr auto kCallDeadline = std::chrono::seconds(3);

util::Error late_error(const Helper& h) {
    return plain_error(fmt::format("{} did not answer on its API socket within {} s", h.name,
                                   kCallDeadline.count()),
                       fmt::format("is {} overloaded or stopped? (pid {})", h.name, h.pid));
}

// One request/reply exchange on the API socket, on an event loop: connect, write, half-close,
// read to EOF, with a timer for kCallDeadline; the loop is never blocked. `done` runs once,
// on the loop's thread.
class AsyncCall : public std::enable_shared_from_this<AsyncCall> {
  public:
    using Done = std::function<void(util::Result<std::string>)>;
    AsyncCall(asio::io_context& io, Helper h, std::string request, Done done)
        : sock_(io), timer_(io), helper_(std::move(h)), request_(std::move(request)),
          done_(std::move(done)) {}

    void start(const std::string& path) {
        auto self = shared_from_this();
        timer_.expires_after(kCallDeadline);
        timer_.async_wait([self](const boost::system::error_code& tec) {
            if (!tec) self->finish(fail(late_error(self->helper_)));
        });
        boost::system::error_code ec;
        sock_.open(Local(), ec);
        if (ec) return finish(fail(util::sys_error(ec.value(), "socket")));
        ::fcntl(sock_.native_handle(), F_SETFD, FD_CLOEXEC);
        if (path.size() >= sizeof(sockaddr_un{}.sun_path))
            return finish(
                fail(plain_error("socket path too long: " + path, "use a shorter --state-dir")));
        sock_.async_connect(Local::endpoint(path), [self,
                                                    path](const boost::system::error_code& cec) {
            if (cec)
                return self->finish(fail(util::sys_error(
                    cec.value(), fmt::format("the {} API socket: cannot connect to {}",
                                             self->helper_.name, path))));
            asio::async_write(self->sock_, asio::buffer(self->request_),
                              [self](const boost::system::error_code& wec, size_t) {
                                  if (wec)
                                      return self->finish(
                                          fail(self->error(wec, "writing to the", "API socket")));
                                  boost::system::error_code ignored;
                                  self->sock_.shutdown(Local::socket::shutdown_send, ignored);
                                  self->read();
                              });
        });
    }

  private:
    using Local = asio::local::stream_protocol;

    void read() {
        sock_.async_read_some(
            asio::buffer(buf_),
            [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                if (ec == asio::error::eof) return self->finish(std::move(self->reply_));
                if (ec)
                    return self->finish(fail(self->error(ec, "reading from the", "API socket")));
                self->reply_.append(self->buf_.data(), n);
                if (self->reply_.size() > 1 << 20)
                    return self->finish(
                        fail(plain_error("the " + self->helper_.name + " API answer is too long")));
                self->read();
            });
    }

    // "<before> <helper> <after>: <strerror>"
    util::Error error(const boost::system::error_code& ec, const char* before, const char* after) {
        return util::sys_error(ec.value(), fmt::format("{} {} {}", before, helper_.name, after));
    }

    // The first outcome wins; closing the socket aborts what is still pending.
    void finish(util::Result<std::string> r) {
        if (!done_) return;
        auto done = std::move(done_);
        done_ = nullptr;
        timer_.cancel();
        boost::system::error_code ignored;
        sock_.close(ignored);
        done(std::move(r));
    }

    Local::socket sock_;
    asio::steady_timer timer_;
    Helper helper_;
    std::string request_, reply_;
    std::array<char, 4096> buf_{};
    Done done_;
};

class Slirp4netnsPorts final : public SerialDriver {
  public:
    Slirp4netnsPorts(asio::io_context* io, std::string sock, std::string child_ip, std::string name,
                     Helper helper)
        : SerialDriver(io), sock_(std::move(sock)), child_ip_(std::move(child_ip)),
          name_(std::move(name)), helper_(std::move(helper)) {}

    std::string name() const override { return name_; }
    std::vector<std::string> protos() const override { return {"tcp", "tcp4", "udp", "udp4"}; }
    bool disallow_loopback_child_ip() const override { return true; }
    std::vector<PortStatus> list() const override { return statuses(ports_); }

  private:
    // Each change after a reconcile, if one is due; one at a time (SerialDriver).
    void start_add(asio::io_context& io, const PortSpec& spec, AddDone done) override {
        reconcile(io, [this, &io, spec, done] {
            auto req = add_request_for(spec);
            if (!req) return done(fail(req.error()));
            exchange(io, *req, [this, spec, done](util::Result<std::string> reply) {
                done(added(spec, std::move(reply)));
            });
        });
    }
    void start_remove(asio::io_context& io, int id, RemoveDone done) override {
        reconcile(io, [this, &io, id, done] {
            auto req = remove_request_for(id);
            if (!req) return done(fail(req.error()));
            exchange(io, *req, [this, id, done](util::Result<std::string> reply) {
                done(removed(id, std::move(reply)));
            });
        });
    }

    util::Result<std::string> add_request_for(const PortSpec& spec) const {
        RK_TRY(validate_port_spec(spec, ports_));
        return add_request(spec, child_ip_);
    }
    util::Result<std::string> remove_request_for(int id) const {
        if (!ports_.count(id)) return fail(plain_error(fmt::format("unknown id: {}", id)));
        return remove_request(id);
    }
    util::Result<PortStatus> added(const PortSpec& spec, util::Result<std::string> reply) {
        if (!reply) return fail(reply.error());
        int id = RK_TRY(parse_add_reply(*reply));
        ports_[id] = spec;
        return PortStatus{id, spec};
    }
    util::Status removed(int id, util::Result<std::string> reply) {
        if (!reply) return fail(reply.error());
        RK_TRY(parse_plain_reply(*reply));
        ports_.erase(id);
        return {};
    }

    // A request that failed after it was sent - the deadline passed, the connection broke - may
    // still be carried out: a wedged slirp4netns reads it once it moves again. Before the next
    // change, the helper's list is fetched: forwards we do not know are removed, ports it no
    // longer has are dropped from ours. If that fails too, the next change tries again.
    void reconcile(asio::io_context& io, std::function<void()> then) {
        if (!unsure_) return then();
        unsure_ = false; // set again by a failing exchange below
        exchange(io, list_request(), [this, &io, then](util::Result<std::string> reply) {
            auto ids = reply ? parse_list_reply(*reply) : fail(reply.error());
            if (!ids) {
                unsure_ = true;
                return then();
            }
            std::erase_if(ports_, [&](const auto& p) {
                return std::find(ids->begin(), ids->end(), p.first) == ids->end();
            });
            std::vector<int> unknown;
            for (int id : *ids)
                if (!ports_.count(id)) unknown.push_back(id);
            remove_unknown(io, std::move(unknown), then);
        });
    }
    void remove_unknown(asio::io_context& io, std::vector<int> ids, std::function<void()> then) {
        if (ids.empty()) return then();
        int id = ids.back();
        ids.pop_back();
        exchange(
            io, remove_request(id), [this, &io, id, ids, then](util::Result<std::string> reply) {
                if (reply && parse_plain_reply(*reply))
                    util::log::warn("{}: removed forward {}, which it set up after its deadline",
                                    helper_.name, id);
                remove_unknown(io, ids, then);
            });
    }

    // One exchange on `io`; `then` gets the reply or the error, on the loop's thread, unless
    // the driver is gone by then (the loop ending).
    void exchange(asio::io_context& io, const std::string& request,
                  std::function<void(util::Result<std::string>)> then) {
        if (auto st = check_running(helper_); !st) return then(fail(st.error())); // not sent
        std::make_shared<AsyncCall>(io, helper_, request,
                                    while_alive([this, then = std::move(then)](auto reply) {
                                        if (!reply) unsure_ = true;
                                        then(std::move(reply));
                                    }))
            ->start(sock_);
    }

    std::string sock_;
    std::string child_ip_;
    std::string name_;
    Helper helper_;
    std::map<int, PortSpec> ports_;
    bool unsure_ = false; // a request may have been carried out after we gave up on it
};

} // namespace

util::Status check_running(const Helper& h) {
    if (h.pid <= 0) return {};
    auto ps = sys::read_proc_stat(h.pid);
    if (!ps) return {}; // reaped: the helper's death is reported by the event loop
    const char state = ps->state;
    if (state == 'T' || state == 't')
        return fail(plain_error(
            fmt::format("{} (pid {}) is stopped and cannot change forwarded ports", h.name, h.pid),
            fmt::format("resume it with kill -CONT {}", h.pid)));
    if (state == 'Z' || state == 'X')
        return fail(plain_error(fmt::format("{} (pid {}) has exited", h.name, h.pid)));
    return {};
}

std::unique_ptr<port::Driver> make_driver(asio::io_context* io, std::string api_socket,
                                          std::string default_child_ip, std::string name,
                                          Helper helper) {
    return std::make_unique<Slirp4netnsPorts>(
        io, std::move(api_socket), std::move(default_child_ip), std::move(name), std::move(helper));
}

} // namespace rk::port::slirp4netns
