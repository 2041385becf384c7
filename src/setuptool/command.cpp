// Purpose: the rootless-setuptool command line (CLI11): check, install, uninstall, nsenter.
#include "setuptool/command.hpp"

#include "setuptool/check.hpp"
#include "setuptool/nsenter.hpp"
#include "setuptool/service.hpp"
#include "sys/fs.hpp"
#include "util/strings.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

namespace rk::setuptool {

namespace {

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
}

Paths user_paths(const parent::User& user) {
    Paths p;
    p.home = env("HOME").value_or("/home/" + user.name);
    p.runtime = env("XDG_RUNTIME_DIR").value_or("");
    p.data = env("XDG_DATA_HOME").value_or(p.home + "/.local/share");
    p.config = env("XDG_CONFIG_HOME").value_or(p.home + "/.config");
    return p;
}

// The daemon binary: PATH first, then the sbin directories a user's PATH often lacks.
std::optional<std::string> find_daemon(const std::string& name) {
    if (auto p = sys::find_in_path(name)) return sys::absolute_clean(*p);
    for (const char* dir : {"/usr/local/sbin", "/usr/sbin", "/sbin"}) {
        std::string p = fmt::format("{}/{}", dir, name);
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return std::nullopt;
}

int usage_error(const std::string& what) {
    std::fprintf(stderr, "rootless-setuptool: %s (see `rootless-setuptool --help`)\n",
                 what.c_str());
    return 2;
}

// What the command line said: the subcommand CLI11 parsed, its options, and what followed
// the first "--" (the daemon's arguments for install, the command for nsenter).
struct CommandLine {
    CLI::App app{"rootless-setuptool (rootlesskit-cpp): check the prerequisites of rootless "
                 "mode, install daemons as systemd user services under rootlesskit, and enter "
                 "their namespaces.",
                 "rootless-setuptool"};
    CLI::App* check = nullptr;
    CLI::App* install = nullptr;
    CLI::App* uninstall = nullptr;
    CLI::App* nsenter = nullptr;
    bool json = false;
    std::string data_dir, exec_line, flags_line, state_dir;
    InstallOptions io;
    bool has_trailing = false; // a "--" was given
    std::vector<std::string> trailing;
};

void add_service_options(CommandLine& c, CLI::App* sc, bool installing) {
    sc->add_option("daemon", c.io.plan.daemon,
                   "dockerd, containerd or buildkitd (daemon arguments go after --)");
    sc->add_option("--exec", c.exec_line,
                   "Any other daemon: its command line (split on spaces), with --name");
    sc->add_option("--name", c.io.plan.name,
                   "Unit name for --exec (default: the command's base name)");
    sc->add_flag("--write-unit-only", c.io.write_unit_only,
                 installing ? "Write the unit without a systemd session; start nothing"
                            : "Remove the unit file without calling systemctl");
    sc->add_flag("--force", c.io.force,
                 "Replace or remove a unit rootless-setuptool did not write");
    if (installing)
        sc->add_option(
            "--rootlesskit-flags", c.flags_line,
            "Extra rootlesskit flags (split on spaces), e.g. \"-p 0.0.0.0:2376:2376/tcp\"");
}

void define_commands(CommandLine& c) {
    auto& app = c.app;
    app.require_subcommand(1);
    app.set_version_flag("-v,--version",
                         std::string("rootless-setuptool version ") + RK_VERSION_STRING);
    c.check = app.add_subcommand("check", "Check every prerequisite; exit 0 when rootless "
                                          "mode will work, 1 when it will not");
    c.check->add_flag("--json", c.json, "Print the findings as one JSON document");
    c.check->add_option("--data-dir", c.data_dir,
                        "Where the daemon's data will live (default: $XDG_DATA_HOME or "
                        "~/.local/share)");
    c.install = app.add_subcommand("install", "Install DAEMON as a systemd user service under "
                                              "rootlesskit");
    add_service_options(c, c.install, true);
    c.uninstall = app.add_subcommand("uninstall", "Stop DAEMON's service and remove its unit "
                                                  "(its data is left alone)");
    add_service_options(c, c.uninstall, false);
    c.nsenter = app.add_subcommand("nsenter", "Run a command inside the user, mount and network "
                                              "namespaces of a running instance");
    c.nsenter->add_option("--state-dir", c.state_dir,
                          "The instance's state dir (default: $ROOTLESSKIT_STATE_DIR, or the one "
                          "running daemon)");
    c.nsenter->prefix_command();
}

// Parses argv into `c`; nullopt to go on, else the exit code (help, version, a usage error).
// Everything after the first "--" is kept aside: CLI11 never sees it.
std::optional<int> parse(CommandLine& c, int argc, char** argv) {
    int cli_argc = argc;
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--") {
            cli_argc = i;
            c.has_trailing = true;
            c.trailing.assign(argv + i + 1, argv + argc);
            break;
        }
    try {
        c.app.parse(cli_argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return c.app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return c.app.exit(e);
    } catch (const CLI::CallForVersion&) {
        std::printf("rootless-setuptool version %s\n", RK_VERSION_STRING);
        return 0;
    } catch (const CLI::ParseError& e) {
        return usage_error(e.what());
    }
    return std::nullopt;
}

int run_check(const CommandLine& c, const parent::User& user, const Paths& paths) {
    CheckEnv ce{user, paths.home, env("XDG_RUNTIME_DIR"),
                c.data_dir.empty() ? paths.data : sys::absolute_clean(c.data_dir), detect_distro()};
    auto findings = run_checks(ce);
    std::fputs(c.json ? format_json(findings, ce.distro).c_str() : format_text(findings).c_str(),
               stdout);
    return rootless_will_work(findings) ? 0 : 1;
}

int run_nsenter(const CommandLine& c) {
    NsenterOptions no;
    if (!c.state_dir.empty()) no.state_dir = sys::absolute_clean(c.state_dir);
    no.runtime_dir = env("XDG_RUNTIME_DIR");
    no.command = c.nsenter->remaining();
    if (c.has_trailing) {
        if (!no.command.empty()) return usage_error("give the command after --, or without --");
        no.command = c.trailing;
    }
    return nsenter(no);
}

// install and uninstall: DAEMON or --exec, the extra flags, never as root.
int run_service(CommandLine& c, const parent::User& user, const Paths& paths) {
    InstallOptions& io = c.io;
    const bool installing = c.install->parsed();
    if (!c.exec_line.empty()) {
        if (!io.plan.daemon.empty()) return usage_error("give either DAEMON or --exec, not both");
        for (auto w : util::fields(c.exec_line))
            io.plan.exec.emplace_back(w);
    } else if (io.plan.daemon.empty()) {
        return usage_error("which daemon? dockerd, containerd, buildkitd, or --exec \"COMMAND\"");
    }
    for (auto w : util::fields(c.flags_line))
        io.plan.extra_flags.emplace_back(w);
    io.plan.daemon_args = c.trailing;
    if (user.uid == 0) {
        std::fprintf(stderr,
                     "[ERROR] run `rootless-setuptool %s` as the user who will run the "
                     "daemon, not as root\n",
                     installing ? "install" : "uninstall");
        return 1;
    }
    io.paths = paths;
    io.user = user.name;
    if (!installing) return uninstall(io);

    if (auto plan = plan_service(io.plan); !plan) {
        std::fprintf(stderr, "[ERROR] %s\n", plan.error().message().c_str());
        return 1;
    }
    const std::string& bin = io.plan.daemon.empty() ? io.plan.exec[0] : io.plan.daemon;
    auto path = find_daemon(bin);
    if (!path) {
        const std::string how =
            io.plan.daemon == "dockerd"      ? "`apt-get install docker.io`"
            : io.plan.daemon == "containerd" ? "`apt-get install containerd`"
            : io.plan.daemon == "buildkitd"
                ? "Debian packages no buildkitd program: put buildkitd from a moby/buildkit "
                  "release in PATH"
                : "install it, or give --exec its full path";
        std::fprintf(stderr, "[ERROR] %s not found in PATH (nor in /usr/sbin, /sbin) (%s)\n",
                     bin.c_str(), how.c_str());
        return 1;
    }
    io.plan.daemon_path = *path;
    io.plan.have_slirp4netns = sys::find_in_path("slirp4netns").has_value();
    return install(io);
}

} // namespace

int run(int argc, char** argv) {
    CommandLine c;
    define_commands(c);
    if (auto done = parse(c, argc, argv)) return *done;
    auto user = parent::current_user();
    if (!user) {
        std::fprintf(stderr, "rootless-setuptool: %s\n", user.error().message().c_str());
        return 1;
    }
    Paths paths = user_paths(*user);
    if (c.check->parsed()) return run_check(c, *user, paths);
    if (c.nsenter->parsed()) return run_nsenter(c);
    return run_service(c, *user, paths);
}

} // namespace rk::setuptool
