// Purpose: --net=slirp4netns (see slirp4netns.hpp).
//
// Theory of Operation
//   make: find the binary and probe its --help for features (>= 0.4.0 has --netns-type), so a
//   missing or old helper fails before anything is created.
//   configure_parent: start `slirp4netns --mtu M -r 3 ... <childpid> <ifname>` with
//   PDEATHSIG=SIGKILL, its stdout+stderr on a pipe, and wait until it writes to fd 3 (it has
//   joined the namespace and created the tap device), it dies (its last output line is the
//   error), or 30 s pass. Its later output goes to our debug log from a drain thread, so a
//   chatty helper never blocks on a full pipe. A pidfd lets the parent's event loop notice
//   the helper dying later.
//   configure_child: lo up, then MTU, up, address and default route of the tap over netlink.
#include "net/slirp4netns.hpp"

#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <chrono>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace rk::net {
using util::fail;
using util::plain_error;

namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(30);

bool kernel_has_seccomp_filter() {
    if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) return false;
    // With a NULL filter the kernel answers EFAULT if it supports filters, EINVAL if not.
    return !(::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, nullptr, 0, 0) < 0 && errno == EINVAL);
}

// The last non-empty line of a helper's output, for error messages.
std::string last_line(const std::string& out) {
    auto lines = util::split(util::trim(out), '\n');
    return lines.empty() ? std::string() : std::string(util::trim(lines.back()));
}

struct Resolved {
    std::string binary;
    Slirp4netnsFeatures features;
};

util::Result<Resolved> probe(const proto::Options& opts) {
    auto path = sys::find_in_path(opts.slirp4netns_binary);
    if (!path)
        return fail(plain_error(
            fmt::format("slirp4netns binary \"{}\" not found in $PATH", opts.slirp4netns_binary),
            "install it (apt-get install slirp4netns), set --slirp4netns-binary, or use "
            "--net=none or --net=host"));
    auto h = RK_TRY(sys::spawn_helper({*path, "--help"}));
    auto r = RK_TRY(sys::finish_helper(h));
    if (!r.ok())
        return fail(plain_error(fmt::format("\"{} --help\" failed ({}): {}", *path,
                                            sys::describe_wait_status(r.status),
                                            last_line(r.output))));
    Resolved res{*path, parse_slirp4netns_help(r.output)};
    if (!res.features.netns_type)
        return fail(plain_error(fmt::format("{} seems older than v0.4.0", *path),
                                "install slirp4netns v0.4.0 or later"));
    return res;
}

// --slirp4netns-sandbox / --slirp4netns-seccomp: auto, true, false (or "").
util::Result<bool> resolve_mode(const std::string& flag, const std::string& mode, bool supported,
                                const char* why_unsupported) {
    if (mode.empty() || mode == "false") return false;
    if (mode == "auto") return supported;
    if (mode == "true") {
        if (!supported)
            return fail(plain_error(fmt::format("--{}=true: {}", flag, why_unsupported),
                                    fmt::format("use --{}=auto or false", flag)));
        return true;
    }
    return fail(plain_error(fmt::format("unsupported {} mode: {}", flag, mode),
                            "use auto, true or false"));
}

} // namespace

Slirp4netnsFeatures parse_slirp4netns_help(const std::string& help) {
    auto has = [&](std::string_view flag) { return help.find(flag) != std::string::npos; };
    return {has("--netns-type"), has("--enable-ipv6"),    has("--cidr"),
            has("--disable-host-loopback"), has("--api-socket"), has("--enable-sandbox"),
            has("--enable-seccomp")};
}

std::vector<std::string> slirp4netns_argv(const Slirp4netnsArgs& a) {
    std::vector<std::string> v{"--mtu", std::to_string(a.mtu), "-r", "3"};
    if (a.disable_host_loopback) v.emplace_back("--disable-host-loopback");
    if (!a.cidr.empty()) v.insert(v.end(), {"--cidr", a.cidr});
    if (!a.api_socket.empty()) v.insert(v.end(), {"--api-socket", a.api_socket});
    if (a.sandbox) v.emplace_back("--enable-sandbox");
    if (a.seccomp) v.emplace_back("--enable-seccomp");
    if (a.ipv6) v.emplace_back("--enable-ipv6");
    v.push_back(std::to_string(a.child_pid));
    v.push_back(a.ifname);
    return v;
}

util::Result<std::unique_ptr<Driver>> make_slirp4netns_driver(const proto::Options& opts) {
    auto res = RK_TRY(probe(opts));
    const auto& f = res.features;
    if (opts.ipv6 && !f.ipv6)
        return fail(plain_error("this slirp4netns does not support --enable-ipv6",
                                "upgrade slirp4netns or drop --ipv6"));
    if (!opts.cidr.empty() && !f.cidr)
        return fail(plain_error("this slirp4netns does not support --cidr",
                                "upgrade slirp4netns or drop --cidr"));
    if (opts.disable_host_loopback && !f.disable_host_loopback)
        return fail(plain_error("this slirp4netns does not support --disable-host-loopback",
                                "upgrade slirp4netns"));
    if (opts.port_driver == "slirp4netns" && !f.api_socket)
        return fail(plain_error("this slirp4netns does not support --api-socket",
                                "upgrade slirp4netns or use --port-driver=builtin"));
    bool sandbox_ok = f.sandbox && !opts.detach_netns;
    Slirp4netnsHelper helper;
    helper.binary = res.binary;
    helper.sandbox = RK_TRY(resolve_mode("slirp4netns-sandbox", opts.slirp4netns_sandbox,
                                         sandbox_ok,
                                         f.sandbox ? "not supported with --detach-netns"
                                                   : "this slirp4netns lacks --enable-sandbox"));
    helper.seccomp = RK_TRY(resolve_mode(
        "slirp4netns-seccomp", opts.slirp4netns_seccomp, f.seccomp && kernel_has_seccomp_filter(),
        f.seccomp ? "the kernel lacks seccomp filters" : "this slirp4netns lacks --enable-seccomp"));
    auto plan = RK_TRY(plan_virtual_net(opts, 65520, 2, 3));
    if (opts.ipv6) plan.dns.push_back("fd00::3");
    return std::unique_ptr<Driver>(new Slirp4netnsDriver(opts, std::move(plan), std::move(helper)));
}

util::Result<std::string> Slirp4netnsDriver::configure_parent(pid_t child_pid,
                                                              const std::string& state_dir) {
    Slirp4netnsArgs a{plan_.mtu,
                      opts_.disable_host_loopback,
                      opts_.cidr,
                      opts_.port_driver == "slirp4netns" ? state_dir + "/.s4nn.sock" : "",
                      helper_.sandbox,
                      helper_.seccomp,
                      opts_.ipv6,
                      child_pid,
                      plan_.ifname};
    std::vector<std::string> argv{helper_.binary};
    for (auto& s : slirp4netns_argv(a))
        argv.push_back(std::move(s));
    util::log::debug("starting {}", fmt::join(argv, " "));

    int ready[2], out[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
        return fail(util::sys_error("pipe2"));
    util::Fd ready_r(ready[0]), ready_w(ready[1]), out_r(out[0]), out_w(out[1]);
    std::vector<char*> cargv;
    for (auto& s : argv)
        cargv.push_back(s.data());
    cargv.push_back(nullptr);
    pid_t parent = ::getpid();
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = ::fork();
    if (pid < 0) return fail(util::sys_error("fork"));
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sys::reset_signals_for_exec();
        ::dup2(devnull, 0);
        ::dup2(out_w.get(), 1);
        ::dup2(out_w.get(), 2);
        ::dup2(ready_w.get(), 3);
        sys::close_range(4, ~0U, 0);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(devnull);
    pid_ = pid;
    pidfd_.reset(sys::pidfd_open(pid, 0));
    ready_w.reset();
    out_w.reset();

    // Wait for the ready byte, watching the output and the helper's life.
    std::string output;
    auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    auto failed = [&](std::string what) -> util::Result<std::string> {
        std::string line = last_line(output);
        return fail(plain_error(
            line.empty() ? what : what + ": " + line,
            "run with --debug to see slirp4netns' output; /dev/net/tun must be usable (mode "
            "0666)"));
    };
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            shutdown();
            return failed(fmt::format("slirp4netns did not become ready in {} s",
                                      kReadyTimeout.count()));
        }
        pollfd pf[2] = {{ready_r.get(), POLLIN, 0}, {out_r.get(), POLLIN, 0}};
        int n = sys::retry_eintr([&] {
            return ::poll(pf, out_r ? 2 : 1, static_cast<int>(left.count()));
        });
        if (n < 0) return fail(util::sys_error("poll"));
        if (pf[1].revents) {
            char buf[4096];
            ssize_t got = sys::retry_eintr([&] { return ::read(out_r.get(), buf, sizeof buf); });
            if (got > 0) {
                output.append(buf, static_cast<size_t>(got));
                if (output.size() > 16384) output.erase(0, output.size() - 16384);
            } else {
                out_r.reset(); // EOF: it closed its output (or died); the ready pipe says which
            }
        }
        if (pf[0].revents) {
            char c;
            ssize_t got = sys::retry_eintr([&] { return ::read(ready_r.get(), &c, 1); });
            if (got == 1) break;
            // EOF without the byte: it died before it was ready.
            int st = 0;
            sys::retry_eintr([&] { return ::waitpid(pid_, &st, 0); });
            pid_ = -1;
            pidfd_.reset();
            // Collect whatever it printed last.
            if (out_r) {
                char buf[4096];
                ssize_t got2;
                while ((got2 = ::read(out_r.get(), buf, sizeof buf)) > 0)
                    output.append(buf, static_cast<size_t>(got2));
            }
            return failed("slirp4netns failed (" + sys::describe_wait_status(st) + ")");
        }
    }
    if (!output.empty()) util::log::debug("slirp4netns: {}", util::trim(output));
    if (out_r) {
        // Its later output goes to the debug log; the thread ends when slirp4netns does.
        std::thread([fd = out_r.release()] {
            char buf[4096];
            ssize_t n;
            while ((n = sys::retry_eintr([&] { return ::read(fd, buf, sizeof buf); })) > 0)
                util::log::debug("slirp4netns: {}",
                                 util::trim(std::string_view(buf, static_cast<size_t>(n))));
            ::close(fd);
        }).detach();
    }
    return std::string();
}

util::Status Slirp4netnsDriver::prepare_child() { return create_persistent_tap(plan_.ifname); }

util::Status Slirp4netnsDriver::configure_child(const std::string&) {
    RK_TRY(configure_interface(plan_));
    if (opts_.port_driver == "slirp4netns") {
        // Connections forwarded by slirp4netns reach the server from 10.0.2.2 with the host
        // client's port and without TCP timestamps. Under churn a port comes back while the
        // server's TIME_WAIT for it lives, the kernel answers the new SYN with an ACK instead
        // of accepting it, and the client stalls for a retransmit: upstream drops to ~100
        // req/s with a new connection per request. Behind slirp's virtual link TIME_WAIT
        // protects against nothing, so the namespace keeps none (per-netns sysctl; containers'
        // own namespaces are not affected).
        if (auto s = sys::write_existing("/proc/sys/net/ipv4/tcp_max_tw_buckets", "0\n"); !s)
            util::log::warn("cannot set net.ipv4.tcp_max_tw_buckets=0 in the namespace ({}); "
                            "many short connections through slirp4netns may stall",
                            s.error().message());
    }
    return {};
}

void Slirp4netnsDriver::shutdown() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    sys::retry_eintr([&] { return ::waitpid(pid_, nullptr, 0); });
    pid_ = -1;
    pidfd_.reset();
    util::log::phase("slirp4netns stopped");
}

util::Error Slirp4netnsDriver::helper_died() {
    int st = 0;
    if (pid_ > 0) sys::retry_eintr([&] { return ::waitpid(pid_, &st, 0); });
    pid_ = -1;
    pidfd_.reset();
    return plain_error("slirp4netns exited unexpectedly (" + sys::describe_wait_status(st) +
                           "); the namespace has no network any more",
                       "run with --debug to see slirp4netns' output");
}

} // namespace rk::net
