// Purpose: the rootlessctl command (see rootlessctl.hpp).
#include "ctl/rootlessctl.hpp"

#include "api/model.hpp"
#include "cli/goflags.hpp"
#include "ctl/client.hpp"
#include "port/spec.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace rk::ctl {
using util::fail;
using util::plain_error;

namespace {

const std::vector<cli::FlagDef>& global_flags() {
    static const std::vector<cli::FlagDef> t = {
        {"debug", "", "", cli::FlagKind::Bool, "debug mode", "false"},
        {"socket", "", "", cli::FlagKind::String,
         "path to api.sock (under the \"rootlesskit --state-dir\" directory), defaults to "
         "$ROOTLESSKIT_STATE_DIR/api.sock",
         ""},
        {"help", "h", "", cli::FlagKind::Bool, "show help", ""},
        {"version", "v", "", cli::FlagKind::Bool, "print the version", ""},
    };
    return t;
}

const std::vector<cli::FlagDef>& json_flag() {
    static const std::vector<cli::FlagDef> t = {
        {"json", "", "", cli::FlagKind::Bool, "print in JSON", "false"},
        {"help", "h", "", cli::FlagKind::Bool, "show help", ""},
    };
    return t;
}
const std::vector<cli::FlagDef>& help_only() {
    static const std::vector<cli::FlagDef> t = {
        {"help", "h", "", cli::FlagKind::Bool, "show help", ""},
    };
    return t;
}

struct Command {
    const char* name;
    const char* usage;
    const char* args;
    const std::vector<cli::FlagDef>& (*flags)();
};

const Command kCommands[] = {
    {"list-ports", "List ports", "", json_flag},
    {"add-ports", "Add ports", "[PARENTIP:]PARENTPORT:CHILDPORT/PROTO [...]", json_flag},
    {"remove-ports", "Remove ports", "ID [ID...]", help_only},
    {"info", "Show info", "", json_flag},
};

std::string main_help() {
    std::string out = fmt::format("NAME:\n   rootlessctl - RootlessKit API client\n\nUSAGE:\n"
                                  "   rootlessctl [global options] command [command options] "
                                  "[arguments...]\n\nVERSION:\n   {}\n\nCOMMANDS:\n",
                                  RK_VERSION_STRING);
    for (const auto& c : kCommands)
        out += fmt::format("   {:<14}{}\n", c.name, c.usage);
    out +=
        fmt::format("   {:<14}{}\n", "help, h", "Shows a list of commands or help for one command");
    out += "\nGLOBAL OPTIONS:\n" + cli::format_flags(global_flags());
    return out;
}

std::string command_help(const Command& c) {
    return fmt::format(
        "NAME:\n   rootlessctl {} - {}\n\nUSAGE:\n   rootlessctl {} [command options] "
        "{}\n\nOPTIONS:\n{}",
        c.name, c.usage, c.name, c.args, cli::format_flags(c.flags()));
}

struct Ctx {
    std::string socket;
    bool json = false;
};

// Turns a non-2xx answer into the error line upstream prints.
util::Status check(const HttpResult& r) {
    if (r.status >= 200 && r.status < 300) return {};
    if (r.body.size() <= 64 * 1024) {
        try {
            auto j = nlohmann::json::parse(r.body);
            if (j.is_object() && j.contains("message") && j["message"].is_string())
                return fail(plain_error(j["message"].get<std::string>()));
        } catch (const nlohmann::json::exception&) {
        }
    }
    return fail(
        plain_error(fmt::format("unexpected HTTP status {}, body=\"{}\"", r.reason, r.body)));
}

util::Result<HttpResult> call(const Ctx& c, const char* method, const std::string& target,
                              const std::string& body = {}) {
    auto r = RK_TRY(http_request(c.socket, method, target, body));
    RK_TRY(check(r));
    return r;
}

util::Status list_ports(const Ctx& c) {
    auto r = RK_TRY(call(c, "GET", "/v1/ports"));
    auto ports = RK_TRY(api::parse_port_list_json(r.body));
    std::sort(ports.begin(), ports.end(), [](auto& a, auto& b) { return a.id < b.id; });
    if (c.json) {
        for (const auto& p : ports)
            std::printf("%s\n", api::to_json(p).c_str());
        return {};
    }
    std::vector<std::vector<std::string>> rows = {
        {"ID", "PROTO", "PARENTIP", "PARENTPORT", "CHILDIP", "CHILDPORT"}};
    for (const auto& p : ports)
        rows.push_back({std::to_string(p.id), p.spec.proto, p.spec.parent_ip,
                        std::to_string(p.spec.parent_port), p.spec.child_ip,
                        std::to_string(p.spec.child_port)});
    std::fputs(tabwrite(rows).c_str(), stdout);
    return {};
}

util::Status add_ports(const Ctx& c, const std::vector<std::string>& args) {
    if (args.empty()) return fail(plain_error("no port specified"));
    std::vector<port::PortSpec> specs;
    for (const auto& a : args)
        specs.push_back(RK_TRY(port::parse_port_spec(a)));
    for (const auto& s : specs) {
        auto r = RK_TRY(call(c, "POST", "/v1/ports", api::to_json(s)));
        auto st = RK_TRY(api::parse_port_status_json(r.body));
        if (c.json)
            std::printf("%s\n", api::to_json(st).c_str());
        else
            std::printf("%d\n", st.id);
        std::fflush(stdout);
    }
    return {};
}

util::Status remove_ports(const Ctx& c, const std::vector<std::string>& args) {
    if (args.empty()) return fail(plain_error("no ID specified"));
    std::vector<long long> ids;
    for (const auto& a : args) {
        auto id = util::parse_i64(a);
        if (!id)
            return fail(
                plain_error(fmt::format("strconv.Atoi: parsing \"{}\": invalid syntax", a)));
        ids.push_back(*id);
    }
    for (auto id : ids) {
        RK_TRY(call(c, "DELETE", fmt::format("/v1/ports/{}", id)));
        std::printf("%lld\n", id);
        std::fflush(stdout);
    }
    return {};
}

util::Status info(const Ctx& c) {
    auto r = RK_TRY(call(c, "GET", "/v1/info"));
    auto i = RK_TRY(api::parse_info_json(r.body));
    if (c.json) {
        std::printf("%s\n", api::to_pretty_json(i).c_str());
        return {};
    }
    std::printf("- REST API version: %s\n", i.api_version.c_str());
    std::printf("- Implementation version: %s\n", i.version.c_str());
    std::printf("- State Directory: %s\n", i.state_dir.c_str());
    std::printf("- Child PID: %ld\n", i.child_pid);
    if (i.network_driver) {
        std::printf("- Network Driver: %s\n", i.network_driver->driver.c_str());
        std::printf("  - DNS: %s\n", util::go_slice(i.network_driver->dns).c_str());
        if (!i.network_driver->child_ip.empty())
            std::printf("  - IP: %s\n", i.network_driver->child_ip.c_str());
    }
    if (i.port_driver) {
        std::printf("- Port Driver: %s\n", i.port_driver->driver.c_str());
        std::printf("  - Supported protocols: %s\n", util::go_slice(i.port_driver->protos).c_str());
    }
    if (i.socket_bypass)
        std::printf("- Socket bypass: %llu connection(s) from the host (%llu more failed), "
                    "%llu call(s) left to the kernel\n",
                    static_cast<unsigned long long>(i.socket_bypass->bypassed),
                    static_cast<unsigned long long>(i.socket_bypass->failed),
                    static_cast<unsigned long long>(i.socket_bypass->passed));
    return {};
}

int fail_with(const util::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.message().c_str());
    return 1;
}

} // namespace

std::string tabwrite(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) {
            if (width.size() <= i) width.push_back(4);
            width[i] = std::max(width[i], r[i].size() + 4);
        }
    std::string out;
    for (const auto& r : rows) {
        for (size_t i = 0; i < r.size(); ++i)
            out += fmt::format("{:<{}}", r[i], width[i]);
        out += '\n';
    }
    return out;
}

int run(const std::vector<std::string>& args) {
    auto g = cli::parse_go_flags(global_flags(), args);
    if (!g) return fail_with(g.error());
    Ctx ctx;
    bool help = false;
    for (const auto& [def, value] : g->flags) {
        if (def->name == "socket")
            ctx.socket = value;
        else if (def->name == "help")
            help = value == "true";
        else if (def->name == "version" && value == "true") {
            std::printf("rootlessctl version %s\n", RK_VERSION_STRING);
            return 0;
        }
    }
    if (help || g->next >= args.size()) {
        std::fputs(main_help().c_str(), stdout);
        return 0;
    }
    const std::string& name = args[g->next];
    if (name == "help" || name == "h") {
        if (g->next + 1 >= args.size()) {
            std::fputs(main_help().c_str(), stdout);
            return 0;
        }
        for (const auto& c : kCommands)
            if (args[g->next + 1] == c.name) {
                std::fputs(command_help(c).c_str(), stdout);
                return 0;
            }
        std::fprintf(stderr, "No help topic for '%s'\n", args[g->next + 1].c_str());
        return 3;
    }
    const Command* cmd = nullptr;
    for (const auto& c : kCommands)
        if (name == c.name) cmd = &c;
    if (!cmd) {
        std::fprintf(stderr, "No help topic for '%s'\n", name.c_str());
        return 3;
    }
    auto f = cli::parse_go_flags(cmd->flags(), args, g->next + 1);
    if (!f) return fail_with(f.error());
    for (const auto& [def, value] : f->flags) {
        if (def->name == "json") ctx.json = value == "true";
        if (def->name == "help" && value == "true") {
            std::fputs(command_help(*cmd).c_str(), stdout);
            return 0;
        }
    }
    std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(f->next), args.end());

    if (ctx.socket.empty()) {
        const char* sd = ::getenv("ROOTLESSKIT_STATE_DIR");
        if (!sd || !*sd)
            return fail_with(plain_error("please specify --socket or set $ROOTLESSKIT_STATE_DIR"));
        ctx.socket = std::string(sd) + "/api.sock";
    }
    // add-ports validates its specs before touching the socket.
    if (std::string_view(cmd->name) == "add-ports") {
        for (const auto& a : rest)
            if (auto s = port::parse_port_spec(a); !s) return fail_with(s.error());
    }
    struct stat st {};
    if (::stat(ctx.socket.c_str(), &st) != 0)
        return fail_with(util::sys_error("stat " + ctx.socket));

    util::Status r;
    std::string_view n = cmd->name;
    if (n == "list-ports")
        r = list_ports(ctx);
    else if (n == "add-ports")
        r = add_ports(ctx, rest);
    else if (n == "remove-ports")
        r = remove_ports(ctx, rest);
    else
        r = info(ctx);
    return r ? 0 : fail_with(r.error());
}

} // namespace rk::ctl
