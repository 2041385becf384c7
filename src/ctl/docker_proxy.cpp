// Purpose: rootlesskit-docker-proxy (see docker_proxy.hpp).
#include "ctl/docker_proxy.hpp"

#include "api/model.hpp"
#include "cli/goflags.hpp"
#include "ctl/client.hpp"
#include "sys/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

namespace rk::ctl {
namespace {

constexpr int kStatusFd = 3;
constexpr const char* kRealProxy = "docker-proxy";

const std::vector<cli::FlagDef>& proxy_flags() {
    static const std::vector<cli::FlagDef> t = {
        {"container-ip", "", "", cli::FlagKind::String, "container ip", ""},
        {"container-port", "", "", cli::FlagKind::Int, "container port", "-1"},
        {"host-ip", "", "", cli::FlagKind::String, "host ip", ""},
        {"host-port", "", "", cli::FlagKind::Int, "host port", "-1"},
        {"proto", "", "", cli::FlagKind::String, "proxy protocol", "tcp"},
    };
    return t;
}

struct ProxyArgs {
    std::string container_ip;
    long long container_port = -1;
    std::string host_ip;
    long long host_port = -1;
    std::string proto = "tcp";
};

// The status line dockerd waits for on fd 3. Without fd 3 (run by hand) it goes nowhere.
void report(const std::string& text) {
    if (::fcntl(kStatusFd, F_GETFD) < 0) return;
    ssize_t n [[maybe_unused]] = ::write(kStatusFd, text.data(), text.size());
}

int fail_start(const std::string& message) {
    report("1\n" + message);
    std::fprintf(stderr, "rootlesskit-docker-proxy: %s\n", message.c_str());
    return 1;
}

util::Result<ProxyArgs> parse_args(const std::vector<std::string>& args) {
    auto parsed = RK_TRY(cli::parse_go_flags(proxy_flags(), args));
    if (parsed.next < args.size())
        return util::fail(util::plain_error(
            fmt::format("unexpected argument \"{}\"", args[parsed.next]),
            "expected only -proto, -host-ip, -host-port, -container-ip and -container-port"));
    ProxyArgs a;
    for (const auto& [def, value] : parsed.flags) {
        if (def->name == "container-ip")
            a.container_ip = value;
        else if (def->name == "host-ip")
            a.host_ip = value;
        else if (def->name == "proto")
            a.proto = value;
        else if (def->name == "container-port")
            a.container_port = RK_TRY(cli::parse_go_int(value));
        else if (def->name == "host-port")
            a.host_port = RK_TRY(cli::parse_go_int(value));
    }
    if (a.host_port < 1 || a.host_port > 65535)
        return util::fail(util::plain_error(fmt::format("invalid -host-port {}", a.host_port),
                                            "pass a port number between 1 and 65535"));
    return a;
}

// "4" or "6" by the address family of `ip`; empty when it is not an IP address.
std::string family_suffix(const std::string& ip) {
    unsigned char buf[16];
    if (::inet_pton(AF_INET, ip.c_str(), buf) == 1) return "4";
    if (::inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
        // An IPv4-mapped address is IPv4 to Go's net.IP.To4().
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return std::equal(mapped, mapped + 12, buf) ? "4" : "6";
    }
    return {};
}

// The signal mask main() started with; the real proxy gets it back.
sigset_t g_original_mask;

[[noreturn]] void exec_real_proxy(const std::vector<std::string>& args) {
    ::sigprocmask(SIG_SETMASK, &g_original_mask, nullptr);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kRealProxy));
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(kRealProxy, argv.data());
    int err = errno;
    std::_Exit(fail_start(fmt::format("cannot run {}: {} (install Docker's docker-proxy, e.g. "
                                      "/usr/sbin/docker-proxy from docker.io, and put it in PATH)",
                                      kRealProxy, std::strerror(err))));
}

// Runs the real proxy as a child with SIGINT/SIGTERM forwarded; returns its exit code.
int run_real_proxy(const std::vector<std::string>& args) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return fail_start(fmt::format("fork: {}", std::strerror(errno)));
    if (pid == 0) exec_real_proxy(args);
    ::close(kStatusFd); // the real proxy owns the status pipe now
    for (;;) {
        int sig = ::sigwaitinfo(&set, nullptr);
        if (sig == SIGINT || sig == SIGTERM) {
            ::kill(pid, sig);
            continue;
        }
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

} // namespace

int docker_proxy_main(const std::vector<std::string>& args) {
    // dockerd may stop us while the port is being published; hold SIGINT/SIGTERM until the
    // real proxy runs, so that the port is always removed again.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &stop, &g_original_mask);
    // Go's flag package answers -h and -help (one or two dashes) with the flag list, exit 0.
    for (const auto& arg : args) {
        if (arg == "--") break;
        if (arg == "-h" || arg == "--h" || arg == "-help" || arg == "--help") {
            fmt::print("Usage of rootlesskit-docker-proxy (Docker < v28's userland proxy for "
                       "rootless mode:\nit publishes the port through "
                       "$ROOTLESSKIT_STATE_DIR/api.sock, then runs docker-proxy inside):\n");
            for (const auto& f : proxy_flags()) {
                bool number = f.kind == cli::FlagKind::Int;
                fmt::print("  -{} {}\n    \t{}", f.name, number ? "int" : "string", f.usage);
                if (!f.default_text.empty() && number) fmt::print(" (default {})", f.default_text);
                if (!f.default_text.empty() && !number)
                    fmt::print(" (default \"{}\")", f.default_text);
                fmt::print("\n");
            }
            return 0;
        }
    }
    auto parsed = parse_args(args);
    if (!parsed) return fail_start(parsed.error().message());
    const ProxyArgs& a = *parsed;

    const char* sd = std::getenv("ROOTLESSKIT_STATE_DIR");
    if (!sd || !*sd)
        return fail_start("$ROOTLESSKIT_STATE_DIR is not set (run this inside `rootlesskit`, as "
                          "dockerd-rootless.sh does)");
    std::string socket = std::string(sd) + "/api.sock";
    auto info_r = http_request(socket, "GET", "/v1/info");
    if (!info_r) return fail_start(info_r.error().message());
    if (info_r->status != 200)
        return fail_start(fmt::format("GET /v1/info on {}: HTTP {}", socket, info_r->status));
    auto info = api::parse_info_json(info_r->body);
    if (!info) return fail_start(info.error().message());

    const auto& pd = info->port_driver;
    if (!pd || pd->driver == "none" || pd->driver == "implicit") exec_real_proxy(args);

    std::string suffix = family_suffix(a.host_ip);
    if (suffix.empty()) return fail_start(fmt::format("invalid -host-ip \"{}\"", a.host_ip));
    std::string proto = a.proto + suffix;
    if (std::find(pd->protos.begin(), pd->protos.end(), proto) == pd->protos.end()) {
        std::fprintf(stderr,
                     "rootlesskit-docker-proxy: port driver %s does not support %s; not "
                     "exposing %s:%lld on the host\n",
                     pd->driver.c_str(), proto.c_str(), a.host_ip.c_str(), a.host_port);
        report("0\n");
        return 0;
    }

    std::string child_ip = suffix == "4" ? "127.0.0.1" : "::1";
    if (pd->disallow_loopback_child_ip) {
        if (!info->network_driver || info->network_driver->child_ip.empty())
            return fail_start(fmt::format("port driver {} needs the network's child IP, and "
                                          "/v1/info has none",
                                          pd->driver));
        child_ip = info->network_driver->child_ip;
    }

    port::PortSpec spec;
    spec.proto = proto;
    spec.parent_ip = a.host_ip;
    spec.parent_port = static_cast<int>(a.host_port);
    spec.child_ip = child_ip;
    spec.child_port = static_cast<int>(a.host_port);
    auto added = http_request(socket, "POST", "/v1/ports", api::to_json(spec));
    if (!added) return fail_start(added.error().message());
    if (added->status != 201 && added->status != 200) {
        std::string msg = added->body;
        try {
            auto j = nlohmann::json::parse(added->body);
            if (j.is_object() && j.contains("message") && j["message"].is_string())
                msg = j["message"].get<std::string>();
        } catch (const nlohmann::json::exception&) {
        }
        return fail_start(
            fmt::format("error while calling PortManager.AddPort(): {}", util::trim(msg)));
    }
    auto status = api::parse_port_status_json(added->body);
    if (!status) return fail_start(status.error().message());

    int rc = run_real_proxy({"-container-ip", a.container_ip, "-container-port",
                             std::to_string(a.container_port), "-host-ip", child_ip, "-host-port",
                             std::to_string(a.host_port), "-proto", a.proto});
    auto removed = http_request(socket, "DELETE", fmt::format("/v1/ports/{}", status->id));
    if (!removed || removed->status >= 300)
        std::fprintf(stderr, "rootlesskit-docker-proxy: could not remove port %d: %s\n", status->id,
                     removed ? removed->body.c_str() : removed.error().message().c_str());
    return rc;
}

} // namespace rk::ctl
