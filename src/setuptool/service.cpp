// Purpose: systemd user units for daemons under rootlesskit (see service.hpp).
#include "setuptool/service.hpp"

#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rk::setuptool {
using util::fail;
using util::plain_error;

namespace {

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
    return s;
}

std::string expand(std::string s, const Paths& p) {
    s = replace_all(std::move(s), "{runtime}", p.runtime);
    s = replace_all(std::move(s), "{data}", p.data);
    s = replace_all(std::move(s), "{config}", p.config);
    return replace_all(std::move(s), "{home}", p.home);
}

// systemd's view of the same placeholders: specifiers where systemd has them.
std::string expand_for_unit(std::string s) {
    s = replace_all(std::move(s), "%", "%%");
    s = replace_all(std::move(s), "$", "$$");
    s = replace_all(std::move(s), "{runtime}", "%t");
    s = replace_all(std::move(s), "{data}", "%h/.local/share");
    s = replace_all(std::move(s), "{config}", "%h/.config");
    return replace_all(std::move(s), "{home}", "%h");
}

// One ExecStart= word: double-quoted when it has anything systemd would split or unescape.
std::string unit_word(const std::string& s) {
    if (!s.empty() && s.find_first_of(" \t\"'\\;") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string net_flags(bool slirp4netns) {
    return slirp4netns ? "--net=slirp4netns --mtu=65520 --slirp4netns-sandbox=auto "
                         "--slirp4netns-seccomp=auto"
                       : "--net=gvisor-tap-vsock";
}

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    for (auto w : util::fields(s))
        out.emplace_back(w);
    return out;
}

std::string unit_dir(const Paths& p) {
    return p.config + "/systemd/user";
}

bool systemd_session(const Paths& p) {
    return sys::find_in_path("systemctl").has_value() && !p.runtime.empty() &&
           ::access((p.runtime + "/systemd/private").c_str(), F_OK) == 0;
}

// Runs `systemctl --user ARGS...`, echoing it as Docker's tool does; false on failure.
bool systemctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"systemctl", "--user"});
    std::printf("+ %s\n", fmt::format("{}", fmt::join(args, " ")).c_str());
    std::fflush(stdout);
    auto h = sys::spawn_helper(args);
    if (!h) {
        std::fprintf(stderr, "[ERROR] %s\n", h.error().message().c_str());
        return false;
    }
    auto r = sys::finish_helper(*h);
    if (!r || !r->ok()) {
        std::fprintf(stderr, "[ERROR] `%s` failed: %s\n",
                     fmt::format("{}", fmt::join(args, " ")).c_str(),
                     r ? util::trim(r->output).data() : r.error().message().c_str());
        return false;
    }
    return true;
}

util::Status mkdir_p(const std::string& path) {
    std::string cur;
    for (auto part : util::split(path, '/')) {
        if (part.empty()) continue;
        cur += "/" + std::string(part);
        if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
            return fail(util::sys_error("cannot create " + cur));
    }
    return {};
}

// Replaces `path` with `text` in one rename, so a reader never sees half a unit.
util::Status write_atomically(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp.XXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0) return fail(util::sys_error("cannot create a file next to " + path));
    bool ok = ::fchmod(fd, 0644) == 0 &&
              ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    int err = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        err = ok ? errno : err;
        ::unlink(tmp.c_str());
        return fail(util::sys_error(err, "cannot write " + path));
    }
    return {};
}

void print_client_env(const ServicePlan& p, const Paths& paths) {
    if (p.client_env.empty()) return;
    std::printf("[INFO] Set these in your shell (or ~/.bashrc) to reach the daemon:\n");
    for (const auto& [k, v] : p.client_env)
        std::printf("export %s=%s\n", k.c_str(), sh_quote(expand(v, paths)).c_str());
}

int error_line(const util::Error& e) {
    std::fprintf(stderr, "[ERROR] %s\n", e.message().c_str());
    return 1;
}

std::string own_rootlesskit() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    return self.substr(0, self.find_last_of('/') + 1) + "rootlesskit";
}

} // namespace

std::string sh_quote(const std::string& s) {
    if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-./:=@%+,") == std::string::npos)
        return s;
    return "'" + replace_all(s, "'", "'\\''") + "'";
}

// The first address dockerd is told to listen on (-H/--host, in any of Go's flag forms), if any:
// then docker.sock is not made and the client must use that address.
std::optional<std::string> dockerd_host(const std::vector<std::string>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if ((a == "-H" || a == "--host" || a == "-host") && i + 1 < args.size()) return args[i + 1];
        for (const char* prefix : {"-H=", "--host=", "-host="})
            if (util::starts_with(a, prefix)) return a.substr(std::strlen(prefix));
        if (util::starts_with(a, "-H") && a.size() > 2 && a[2] != '=') return a.substr(2);
    }
    return std::nullopt;
}

util::Result<ServicePlan> plan_service(const PlanInput& in) {
    ServicePlan p;
    const std::string net = net_flags(in.have_slirp4netns);
    std::string flags;
    if (in.daemon == "dockerd") {
        p.name = "docker";
        p.description = "Docker Application Container Engine (rootless, under rootlesskit-cpp)";
        p.documentation = "https://docs.docker.com/go/rootless/";
        flags = "--state-dir={runtime}/dockerd-rootless " + net +
                " --disable-host-loopback --port-driver=builtin --copy-up=/etc --copy-up=/run "
                "--propagation=rslave";
        // As dockerd-rootless.sh: /run is a copy of the host's; drop its links to the host's
        // docker and containerd sockets so that dockerd makes its own.
        p.prelude = "rm -f /run/docker /run/containerd /run/xtables.lock && exec \"$0\" \"$@\"";
        p.client_env = {
            {"DOCKER_HOST", dockerd_host(in.daemon_args).value_or("unix://{runtime}/docker.sock")}};
        p.data_dir = "{data}/docker";
    } else if (in.daemon == "containerd") {
        p.name = "containerd";
        p.description = "containerd (rootless, under rootlesskit-cpp)";
        p.documentation = "https://github.com/containerd/containerd/blob/main/docs/rootless.md";
        flags = "--state-dir={runtime}/containerd-rootless " + net +
                " --disable-host-loopback --port-driver=builtin --copy-up=/etc --copy-up=/run "
                "--copy-up=/var/lib --propagation=rslave";
        // containerd's default paths, bound to the user's own directories.
        p.prelude =
            "rm -f /run/containerd /run/xtables.lock /var/lib/containerd /var/lib/buildkit "
            "/var/lib/docker /etc/containerd && mkdir -p {data}/containerd {runtime}/containerd "
            "{config}/containerd /var/lib/containerd /run/containerd /etc/containerd && mount "
            "--bind {data}/containerd /var/lib/containerd && mount --bind {runtime}/containerd "
            "/run/containerd && mount --bind {config}/containerd /etc/containerd && exec \"$0\" "
            "\"$@\"";
        p.client_env = {{"CONTAINERD_ADDRESS", "{runtime}/containerd/containerd.sock"}};
        p.data_dir = "{data}/containerd";
    } else if (in.daemon == "buildkitd") {
        p.name = "buildkit";
        p.description = "BuildKit (rootless, under rootlesskit-cpp)";
        p.documentation = "https://github.com/moby/buildkit/blob/master/docs/rootless.md";
        // The BuildKit guide's recommended isolation: its own network namespace.
        flags = "--state-dir={runtime}/buildkitd-rootless --net=gvisor-tap-vsock --copy-up=/etc "
                "--disable-host-loopback";
        p.client_env = {{"BUILDKIT_HOST", "unix://{runtime}/buildkit/buildkitd.sock"}};
        p.data_dir = "{data}/buildkit";
    } else if (in.daemon.empty() && !in.exec.empty()) {
        p.name = in.name;
        if (p.name.empty()) p.name = in.exec[0].substr(in.exec[0].find_last_of('/') + 1);
        if (p.name.empty() || p.name.find_first_of("/ \t@\\") != std::string::npos ||
            p.name[0] == '.')
            return fail(plain_error(fmt::format("invalid service name \"{}\"", p.name),
                                    "pass --name with letters, digits, '-', '_' or '.'"));
        p.description = fmt::format("{} (rootless, under rootlesskit-cpp)", p.name);
        flags = "--state-dir={runtime}/" + p.name + "-rootless " + net +
                " --disable-host-loopback --port-driver=builtin --copy-up=/etc";
        p.data_dir = "";
    } else {
        return fail(plain_error(fmt::format("unknown daemon \"{}\"", in.daemon),
                                "choose dockerd, containerd or buildkitd, or pass --exec \"COMMAND "
                                "ARGS\" --name NAME"));
    }
    p.rootlesskit_flags = words(flags);
    for (const auto& f : in.extra_flags)
        p.rootlesskit_flags.push_back(f);
    if (in.daemon.empty()) {
        p.command = in.exec;
        if (!in.daemon_path.empty()) p.command[0] = in.daemon_path;
    } else {
        p.command = {in.daemon_path.empty() ? in.daemon : in.daemon_path};
    }
    for (const auto& a : in.daemon_args)
        p.command.push_back(a);
    return p;
}

std::string render_unit(const ServicePlan& p, const std::string& rootlesskit,
                        const std::string& bin_dir) {
    std::vector<std::string> exec{unit_word(rootlesskit)};
    for (const auto& f : p.rootlesskit_flags)
        exec.push_back(unit_word(expand_for_unit(f)));
    if (!p.prelude.empty()) {
        exec.push_back("/bin/sh");
        exec.push_back("-c");
        exec.push_back(unit_word(expand_for_unit(p.prelude)));
    }
    for (const auto& c : p.command)
        exec.push_back(unit_word(expand_for_unit(c)));
    std::string out = std::string(kUnitMarker) + "\n[Unit]\n";
    out += "Description=" + p.description + "\n";
    if (!p.documentation.empty()) out += "Documentation=" + p.documentation + "\n";
    out += "\n[Service]\n";
    // Our bin dir first: the daemon finds our rootlesskit-docker-proxy and rootlessctl.
    out += "Environment=PATH=" + bin_dir +
           ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n";
    out += "ExecStart=" + fmt::format("{}", fmt::join(exec, " ")) + "\n";
    out += "ExecReload=/bin/kill -s HUP $MAINPID\n"
           "TimeoutSec=0\n"
           "RestartSec=2\n"
           "Restart=always\n"
           "StartLimitBurst=3\n"
           "StartLimitInterval=60s\n"
           "LimitNOFILE=infinity\n"
           "LimitNPROC=infinity\n"
           "LimitCORE=infinity\n"
           "TasksMax=infinity\n";
    if (p.delegate_cgroup) out += "Delegate=yes\n";
    out += "Type=simple\n"
           "KillMode=mixed\n"
           "\n[Install]\n"
           "WantedBy=default.target\n";
    return out;
}

std::string render_command(const ServicePlan& p, const std::string& rootlesskit,
                           const Paths& paths) {
    std::vector<std::string> w{sh_quote(rootlesskit)};
    for (const auto& f : p.rootlesskit_flags)
        w.push_back(sh_quote(expand(f, paths)));
    if (!p.prelude.empty()) {
        w.push_back("/bin/sh");
        w.push_back("-c");
        w.push_back(sh_quote(expand(p.prelude, paths)));
    }
    for (const auto& c : p.command)
        w.push_back(sh_quote(expand(c, paths)));
    return fmt::format("{}", fmt::join(w, " "));
}

namespace {

struct Prepared {
    ServicePlan plan;
    std::string rootlesskit;
    std::string unit_path;
};

util::Result<Prepared> prepare(const InstallOptions& o) {
    Prepared pr;
    pr.plan = RK_TRY(plan_service(o.plan));
    pr.rootlesskit = own_rootlesskit();
    pr.unit_path = unit_dir(o.paths) + "/" + pr.plan.name + ".service";
    return pr;
}

bool is_ours(const std::string& text) {
    return util::starts_with(text, kUnitMarker);
}

} // namespace

int install(const InstallOptions& o) {
    auto pr = prepare(o);
    if (!pr) return error_line(pr.error());
    if (::access(pr->rootlesskit.c_str(), X_OK) != 0)
        return error_line(
            plain_error(fmt::format("{} is missing", pr->rootlesskit),
                        "install rootless-setuptool next to our rootlesskit (`cmake --install`)"));
    const ServicePlan& p = pr->plan;
    std::string bin_dir = pr->rootlesskit.substr(0, pr->rootlesskit.find_last_of('/'));
    bool systemd = systemd_session(o.paths);
    if (!systemd && !o.write_unit_only) {
        std::printf("[INFO] No systemd user session (systemctl --user is not reachable), so no "
                    "unit was installed.\n"
                    "[INFO] Run the daemon in the foreground instead:\n\n"
                    "PATH=%s:$PATH %s\n\n",
                    sh_quote(bin_dir).c_str(), render_command(p, pr->rootlesskit, o.paths).c_str());
        print_client_env(p, o.paths);
        return 0;
    }
    std::string text = render_unit(p, pr->rootlesskit, bin_dir);
    auto existing = sys::read_file(pr->unit_path);
    bool changed = true;
    if (existing) {
        if (!is_ours(*existing) && !o.force)
            return error_line(plain_error(
                fmt::format("{} exists and was not written by rootless-setuptool", pr->unit_path),
                "remove it, or pass --force to replace it"));
        changed = *existing != text;
    }
    if (changed) {
        if (auto s = mkdir_p(unit_dir(o.paths)); !s) return error_line(s.error());
        if (auto s = write_atomically(pr->unit_path, text); !s) return error_line(s.error());
        std::printf("[INFO] %s %s\n", existing ? "Updated" : "Created", pr->unit_path.c_str());
    } else {
        std::printf("[INFO] %s is already installed and up to date\n", pr->unit_path.c_str());
    }
    if (systemd && !o.write_unit_only) {
        if (!systemctl({"daemon-reload"})) return 1;
        if (!systemctl({"enable", "--now", p.name + ".service"})) return 1;
        std::printf("[INFO] %s.service is running. Control it with `systemctl --user "
                    "(start|stop|restart|status) %s.service`.\n",
                    p.name.c_str(), p.name.c_str());
    } else {
        std::printf(
            "[INFO] Not started (--write-unit-only). In a systemd user session: "
            "`systemctl --user daemon-reload && systemctl --user enable --now %s.service`\n",
            p.name.c_str());
    }
    std::printf("[INFO] To start it at boot without a login: `sudo loginctl enable-linger %s`\n",
                o.user.c_str());
    print_client_env(p, o.paths);
    return 0;
}

int uninstall(const InstallOptions& o) {
    auto pr = prepare(o);
    if (!pr) return error_line(pr.error());
    const ServicePlan& p = pr->plan;
    auto existing = sys::read_file(pr->unit_path);
    if (!existing) {
        std::printf("[INFO] %s.service is not installed (%s does not exist)\n", p.name.c_str(),
                    pr->unit_path.c_str());
        return 0;
    }
    if (!is_ours(*existing) && !o.force)
        return error_line(
            plain_error(fmt::format("{} was not written by rootless-setuptool; leaving it alone",
                                    pr->unit_path),
                        "remove it yourself, or pass --force"));
    bool systemd = systemd_session(o.paths) && !o.write_unit_only;
    if (systemd) systemctl({"disable", "--now", p.name + ".service"});
    if (::unlink(pr->unit_path.c_str()) != 0)
        return error_line(util::sys_error("cannot remove " + pr->unit_path));
    std::printf("[INFO] Removed %s\n", pr->unit_path.c_str());
    if (systemd) systemctl({"daemon-reload"});
    if (!p.data_dir.empty())
        std::printf("[INFO] The daemon's data was left alone. To remove it too (files owned by "
                    "sub-IDs need the namespace): `%s rm -rf %s`\n",
                    pr->rootlesskit.c_str(), sh_quote(expand(p.data_dir, o.paths)).c_str());
    for (const auto& [k, v] : p.client_env)
        std::printf("[INFO] Unset %s if you exported it.\n", k.c_str());
    return 0;
}

} // namespace rk::setuptool
