// Purpose: the REST API's routes and JSON documents (spec 3, 3.1, 15.3-15.4), and rootlessctl's
// table layout (spec 2).
#include "api/router.hpp"
#include "api/server.hpp"
#include "ctl/rootlessctl.hpp"
#include "util/fd.hpp"
#include "util/guard.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <gtest/gtest.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace rk::api {
namespace {

// An in-memory port driver, enough to drive every route (the real drivers have their own
// tests against real sockets).
class MemoryPorts final : public port::Driver {
  public:
    std::string name() const override { return "memory"; }
    std::vector<std::string> protos() const override { return {"tcp"}; }
    util::Result<port::PortStatus> add(const port::PortSpec& s) override {
        std::map<int, port::PortSpec> existing;
        for (const auto& p : ports_)
            existing[p.id] = p.spec;
        RK_TRY(port::validate_port_spec(s, existing));
        ports_.push_back({next_++, s});
        return ports_.back();
    }
    util::Status remove(int id) override {
        for (auto it = ports_.begin(); it != ports_.end(); ++it)
            if (it->id == id) {
                ports_.erase(it);
                return {};
            }
        return util::fail(util::plain_error("unknown id: " + std::to_string(id)));
    }
    std::vector<port::PortStatus> list() const override { return ports_; }

  private:
    std::vector<port::PortStatus> ports_;
    int next_ = 1;
};

Backend backend(port::Driver* d) {
    return {[] {
                Info i;
                i.version = "3.0.1+cpp";
                i.state_dir = "/tmp/sd";
                i.child_pid = 42;
                i.network_driver = NetworkDriverInfo{"slirp4netns", {"10.0.2.3"}, "10.0.2.100"};
                i.port_driver = PortDriverInfo{"builtin", {"tcp", "tcp4"}, false};
                return i;
            },
            d};
}

TEST(Api, Info) {
    auto r = route("GET", "/v1/info", "", backend(nullptr));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body,
              "{\"apiVersion\":\"1.1.2\",\"version\":\"3.0.1+cpp\",\"stateDir\":\"/tmp/sd\","
              "\"childPID\":42,\"networkDriver\":{\"driver\":\"slirp4netns\",\"dns\":["
              "\"10.0.2.3\"],\"childIP\":\"10.0.2.100\"},\"portDriver\":{\"driver\":"
              "\"builtin\",\"protos\":[\"tcp\",\"tcp4\"]}}");
    EXPECT_EQ(route("GET", "/v1/info?x=1", "", backend(nullptr)).status, 200);
}

// API 1.1.2: networkDriver.ipv6 and portDriver.extra, both omitted when false/empty (Go's
// omitempty), and read back by rootlessctl.
TEST(Api, InfoIpv6AndExtra) {
    Info i;
    i.version = "v";
    i.network_driver = NetworkDriverInfo{"pasta", {"10.0.2.3"}, "10.0.2.100", false, true};
    i.port_driver = PortDriverInfo{
        "builtin", {"tcp"}, false, {{"sourceIPTransparentBackend", "fwmark"}, {"a", "<b>"}}};
    auto json = to_json(i);
    EXPECT_EQ(json, "{\"apiVersion\":\"1.1.2\",\"version\":\"v\",\"stateDir\":\"\","
                    "\"childPID\":0,\"networkDriver\":{\"driver\":\"pasta\",\"dns\":["
                    "\"10.0.2.3\"],\"childIP\":\"10.0.2.100\",\"ipv6\":true},\"portDriver\":"
                    "{\"driver\":\"builtin\",\"protos\":[\"tcp\"],\"extra\":{\"a\":"
                    "\"\\u003cb\\u003e\",\"sourceIPTransparentBackend\":\"fwmark\"}}}");
    auto back = parse_info_json(json);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_TRUE(back->network_driver->ipv6);
    EXPECT_EQ(back->port_driver->extra.at("sourceIPTransparentBackend"), "fwmark");
    EXPECT_EQ(back->port_driver->extra.at("a"), "<b>");
    // An older server's answer (1.1.1) has neither.
    auto old = parse_info_json("{\"apiVersion\":\"1.1.1\",\"networkDriver\":{\"driver\":"
                               "\"slirp4netns\"},\"portDriver\":{\"driver\":\"builtin\"}}");
    ASSERT_TRUE(old);
    EXPECT_FALSE(old->network_driver->ipv6);
    EXPECT_TRUE(old->port_driver->extra.empty());
    // extra must map strings to strings, as Go's map[string]string.
    EXPECT_FALSE(parse_info_json("{\"portDriver\":{\"driver\":\"b\",\"extra\":{\"k\":1}}}"));
}

TEST(Api, NoPortDriver) {
    for (auto [m, t] :
         {std::pair{"GET", "/v1/ports"}, {"POST", "/v1/ports"}, {"DELETE", "/v1/ports/1"}}) {
        auto r = route(m, t, "{}", backend(nullptr));
        EXPECT_EQ(r.status, 400) << m << t;
        EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
        EXPECT_EQ(r.body, "{\"message\":\"no PortDriver is available\"}\n");
    }
}

TEST(Api, PortsLifecycle) {
    MemoryPorts ports;
    auto b = backend(&ports);
    EXPECT_EQ(route("GET", "/v1/ports", "", b).body, "null");
    auto r = route(
        "POST", "/v1/ports",
        R"({"proto":"tcp","parentIP":"127.0.0.1","parentPort":8080,"childPort":80,"x":1} trailing)",
        b);
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(
        r.body,
        R"({"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":8080,"childPort":80}})");
    r = route("POST", "/v1/ports",
              R"({"proto":"tcp","parentIP":"127.0.0.1","parentPort":8080,"childPort":81})", b);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, "{\"message\":\"conflict with ID 1\"}\n");
    r = route("POST", "/v1/ports", R"({"proto":"tcp","parentPort":"8080"})", b);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, "{\"message\":\"json: cannot unmarshal string into Go struct field "
                      "Spec.parentPort of type int\"}\n");
    EXPECT_EQ(route("POST", "/v1/ports", "not json", b).status, 400);
    EXPECT_EQ(
        route("GET", "/v1/ports", "", b).body,
        R"([{"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":8080,"childPort":80}}])");
    r = route("DELETE", "/v1/ports/abc", "", b);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, "{\"message\":\"bad id abc: strconv.Atoi: parsing \\\"abc\\\": invalid "
                      "syntax\"}\n");
    EXPECT_EQ(route("DELETE", "/v1/ports/99", "", b).body, "{\"message\":\"unknown id: 99\"}\n");
    r = route("DELETE", "/v1/ports/1", "", b);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(route("GET", "/v1/ports", "", b).body, "null");
}

TEST(Api, MethodsAndPaths) {
    MemoryPorts ports;
    auto b = backend(&ports);
    for (auto [m, t] :
         {std::pair{"PUT", "/v1/ports"}, {"POST", "/v1/info"}, {"GET", "/v1/ports/1"}}) {
        auto r = route(m, t, "", b);
        EXPECT_EQ(r.status, 405) << m << t;
        EXPECT_EQ(r.body, "");
    }
    for (auto t : {"/v2/info", "/v1/info/", "/", "/v1/ports/1/x", "/v1/ports/"}) {
        auto r = route("GET", t, "", b);
        EXPECT_EQ(r.status, 404) << t;
        EXPECT_EQ(r.body, "404 page not found\n");
    }
}

TEST(Api, GoEscaping) {
    EXPECT_EQ(error_body("a<b>&c"), "{\"message\":\"a\\u003cb\\u003e\\u0026c\"}\n");
}

TEST(Api, ParseInfoRoundTrip) {
    auto i = backend(nullptr).info();
    auto back = parse_info_json(to_json(i));
    ASSERT_TRUE(back);
    EXPECT_EQ(to_json(*back), to_json(i));
}

TEST(Ctl, TabwriterMatchesUpstream) {
    std::string t =
        ctl::tabwrite({{"ID", "PROTO", "PARENTIP", "PARENTPORT", "CHILDIP", "CHILDPORT"},
                       {"1", "tcp", "127.0.0.1", "28080", "", "80"},
                       {"5", "tcp6", "::1", "28084", "::1", "84"}});
    EXPECT_EQ(t, "ID    PROTO    PARENTIP     PARENTPORT    CHILDIP    CHILDPORT    \n"
                 "1     tcp      127.0.0.1    28080                    80           \n"
                 "5     tcp6     ::1          28084         ::1        84           \n");
}

} // namespace
} // namespace rk::api

namespace rk::api {
namespace {

// Sends one raw HTTP request on a fresh connection to `path`, returns all it reads back.
std::string http_exchange(const std::string& path, const std::string& request) {
    util::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::write(fd.get(), request.data(), request.size()),
              static_cast<ssize_t>(request.size()));
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    return out;
}

// api.sock in a fresh directory, served on a thread of its own for the length of a test.
struct LiveServer {
    explicit LiveServer(Backend b) {
        if (!::mkdtemp(dir)) return;
        path = std::string(dir) + "/api.sock";
        auto s = Server::listen(io, path, std::move(b));
        if (!s) {
            error = s.error().message();
            return;
        }
        server = std::move(*s);
        loop = std::thread([this] {
            auto guard = boost::asio::make_work_guard(io);
            io.run();
        });
    }
    ~LiveServer() {
        if (loop.joinable()) {
            boost::asio::post(io, [this] {
                server->close();
                io.stop();
            });
            loop.join();
        }
        ::unlink(path.c_str());
        ::rmdir(dir);
    }
    char dir[24] = "/tmp/rk-api-test.XXXXXX";
    std::string path, error = "no temporary directory";
    boost::asio::io_context io;
    std::unique_ptr<Server> server;
    std::thread loop;
};

// A backend that throws answers that request with a 500; the server goes on serving.
TEST(ApiServer, ThrowingBackendGives500AndTheServerLives) {
    Backend b;
    b.info = []() -> Info { throw std::runtime_error("boom"); };
    LiveServer live(b);
    ASSERT_TRUE(live.server) << live.error;
    const std::string& path = live.path;
    auto r = http_exchange(path, "GET /v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 500", 0), 0u) << r;
    EXPECT_NE(r.find("{\"message\":\"internal error: boom\"}"), std::string::npos) << r;
    r = http_exchange(path, "GET /v1/ports HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
}

// A driver that answers later (as the slirp4netns driver does while its helper works): the
// request waits, every other client is served meanwhile, and the answer goes out when it comes.
class LaterPorts final : public port::Driver {
  public:
    std::string name() const override { return "later"; }
    std::vector<std::string> protos() const override { return {"tcp"}; }
    util::Result<port::PortStatus> add(const port::PortSpec&) override {
        return util::fail(util::plain_error("only asynchronously"));
    }
    util::Status remove(int) override { return {}; }
    std::vector<port::PortStatus> list() const override { return {}; }
    void add_async(const port::PortSpec& spec, AddDone done) override {
        spec_ = spec;
        pending_ = std::move(done);
        held_ = true;
    }
    void answer() { pending_(port::PortStatus{9, spec_}); }
    std::atomic<bool> held_{false};

  private:
    port::PortSpec spec_;
    AddDone pending_;
};

TEST(ApiServer, AnswersThatComeLaterHoldNoOtherClient) {
    LaterPorts ports;
    LiveServer live(backend(&ports));
    ASSERT_TRUE(live.server) << live.error;
    const std::string& path = live.path;
    const std::string body = R"({"proto":"tcp","parentIP":"127.0.0.1","parentPort":8080,)"
                             R"("childPort":80})";
    std::string added;
    std::thread adder([&] {
        added = http_exchange(path, "POST /v1/ports HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                    "Content-Length: " +
                                        std::to_string(body.size()) + "\r\n\r\n" + body);
    });
    for (int i = 0; i < 500 && !ports.held_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(ports.held_);
    auto r = http_exchange(path, "GET /v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
    boost::asio::post(live.io, [&] { ports.answer(); });
    adder.join();
    EXPECT_EQ(added.rfind("HTTP/1.1 201", 0), 0u) << added;
    EXPECT_NE(added.find(R"("id":9)"), std::string::npos) << added;
    // the synchronous form cannot wait for it, and says so
    EXPECT_EQ(route("POST", "/v1/ports", body, backend(&ports)).status, 500);
}

TEST(GuardedMain, ExceptionsBecomeExitOne) {
    EXPECT_EQ(util::guarded_main("t", [] { return 7; }), 7);
    EXPECT_EQ(util::guarded_main("t", []() -> int { throw std::runtime_error("x"); }), 1);
    EXPECT_EQ(util::guarded_main("t", []() -> int { throw 42; }), 1);
}

} // namespace
} // namespace rk::api
