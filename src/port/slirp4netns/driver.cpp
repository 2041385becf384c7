// Purpose: the slirp4netns port driver (see driver.hpp).
//
// One request per connection to the API socket: write the JSON request, half-close, read the
// reply to EOF (slirp4netns' protocol). Calls block the parent's event loop for the few
// microseconds slirp4netns needs; a helper that is stopped is reported before any call, and a
// deadline of kCallDeadline for the whole exchange bounds one that is wedged.
#include "port/slirp4netns/driver.hpp"

#include "sys/fdpass.hpp"
#include "sys/process.hpp"
#include "sys/syscalls.hpp"
#include "util/fd.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace rk::port::slirp4netns {
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

namespace {

constexpr auto kCallDeadline = std::chrono::seconds(3);

// Waits until `fd` is ready for `events` before `deadline`; false on timeout.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return true; // the read or write names the error
    }
}

// One request/reply exchange on the API socket, all of it within kCallDeadline.
util::Result<std::string> call(const Helper& h, const std::string& path,
                               const std::string& request) {
    RK_TRY(check_running(h));
    auto deadline = std::chrono::steady_clock::now() + kCallDeadline;
    auto late = [&] {
        return fail(
            plain_error(fmt::format("{} did not answer on its API socket within {} s", h.name,
                                    kCallDeadline.count()),
                        fmt::format("is {} overloaded or stopped? (pid {})", h.name, h.pid)));
    };
    util::Fd fd = RK_TRY_CTX(sys::connect_unix(path), "the " + h.name + " API socket");
    size_t off = 0;
    while (off < request.size()) {
        ssize_t n = ::send(fd.get(), request.data() + off, request.size() - off,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(fd.get(), POLLOUT, deadline)) return late();
            continue;
        }
        if (n < 0) return fail(util::sys_error("writing to the " + h.name + " API socket"));
        off += static_cast<size_t>(n);
    }
    ::shutdown(fd.get(), SHUT_WR);
    std::string reply;
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(fd.get(), POLLIN, deadline)) return late();
            continue;
        }
        if (n < 0) return fail(util::sys_error("reading from the " + h.name + " API socket"));
        if (n == 0) break;
        reply.append(buf, static_cast<size_t>(n));
        if (reply.size() > 1 << 20)
            return fail(plain_error("the " + h.name + " API answer is too long"));
    }
    return reply;
}

class Slirp4netnsPorts final : public port::Driver {
  public:
    Slirp4netnsPorts(std::string sock, std::string child_ip, std::string name, Helper helper)
        : sock_(std::move(sock)), child_ip_(std::move(child_ip)), name_(std::move(name)),
          helper_(std::move(helper)) {}
    ~Slirp4netnsPorts() override = default;

    std::string name() const override { return name_; }
    std::vector<std::string> protos() const override { return {"tcp", "tcp4", "udp", "udp4"}; }
    bool disallow_loopback_child_ip() const override { return true; }

    util::Result<PortStatus> add(const PortSpec& spec) override {
        RK_TRY(validate_port_spec(spec, ports_));
        auto req = RK_TRY(add_request(spec, child_ip_));
        auto reply = RK_TRY(call(helper_, sock_, req));
        int id = RK_TRY(parse_add_reply(reply));
        ports_[id] = spec;
        return PortStatus{id, spec};
    }

    util::Status remove(int id) override {
        auto it = ports_.find(id);
        if (it == ports_.end()) return fail(plain_error(fmt::format("unknown id: {}", id)));
        json req = {{"execute", "remove_hostfwd"}, {"arguments", {{"id", id}}}};
        auto reply = RK_TRY(call(helper_, sock_, req.dump()));
        json j = json::parse(reply, nullptr, false);
        if (j.is_discarded() || !j.is_object())
            return fail(
                plain_error("slirp4netns answered with something else than JSON: " + reply));
        if (j.contains("error")) return fail(plain_error("slirp4netns: " + error_text(j)));
        ports_.erase(it);
        return {};
    }

    std::vector<PortStatus> list() const override {
        std::vector<PortStatus> out;
        for (const auto& [id, spec] : ports_)
            out.push_back({id, spec});
        return out;
    }

  private:
    std::string sock_;
    std::string child_ip_;
    std::string name_;
    Helper helper_;
    std::map<int, PortSpec> ports_;
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

std::unique_ptr<port::Driver> make_driver(std::string api_socket, std::string default_child_ip,
                                          std::string name, Helper helper) {
    return std::make_unique<Slirp4netnsPorts>(std::move(api_socket), std::move(default_child_ip),
                                              std::move(name), std::move(helper));
}

} // namespace rk::port::slirp4netns
