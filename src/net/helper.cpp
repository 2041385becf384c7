// Purpose: supervised network helper processes (see helper.hpp).
#include "net/helper.hpp"

#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/thread.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace rk::net {
using util::fail;
using util::plain_error;

std::string last_output_line(const std::string& out) {
    auto lines = util::split(util::trim(out), '\n');
    return lines.empty() ? std::string() : std::string(util::trim(lines.back()));
}

namespace {

int reap(SupervisedHelper& h) {
    int st = 0;
    if (h.pid > 0) sys::retry_eintr([&] { return ::waitpid(h.pid, &st, 0); });
    h.pid = -1;
    h.pidfd.reset();
    return st;
}

} // namespace

util::Result<std::string> find_helper_binary(const std::string& tool, const std::string& value,
                                             const std::string& install,
                                             const std::string& otherwise) {
    if (auto path = sys::find_in_path(value)) return *path;
    const std::string flag = "--" + tool + "-binary";
    if (value.find('/') != std::string::npos)
        return fail(plain_error(
            fmt::format("{} binary \"{}\" (given with {}) is not an executable file", tool, value,
                        flag),
            fmt::format("give {} the path of an installed {}, or leave it out to use {} from "
                        "$PATH{}",
                        flag, tool, tool, otherwise.empty() ? "" : ", " + otherwise)));
    if (value != tool)
        return fail(plain_error(
            fmt::format("{} binary \"{}\" (given with {}) not found in $PATH", tool, value, flag),
            fmt::format("give {} a full path, or leave it out to use {}{}", flag, tool,
                        otherwise.empty() ? "" : ", " + otherwise)));
    return fail(plain_error(
        fmt::format("{} binary \"{}\" not found in $PATH", tool, value),
        fmt::format("{}, set {}{}", install, flag, otherwise.empty() ? "" : ", " + otherwise)));
}

util::Result<SupervisedHelper> start_helper(std::string name, std::vector<std::string> argv,
                                            std::vector<int> fds) {
    util::log::debug("starting {}", fmt::join(argv, " "));
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return fail(util::sys_error("pipe2"));
    util::Fd out_r(out[0]), out_w(out[1]);
    util::Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    std::vector<char*> cargv;
    for (auto& s : argv)
        cargv.push_back(s.data());
    cargv.push_back(nullptr);
    pid_t pid = sys::fork_bound_to_parent();
    if (pid < 0) return fail(util::sys_error("fork"));
    if (pid == 0) {
        sys::reset_signals_for_exec();
        ::dup2(devnull.get(), 0);
        ::dup2(out_w.get(), 1);
        ::dup2(out_w.get(), 2);
        // Lift the fds above their targets first, so that moving one down cannot overwrite
        // another that is still to move.
        int lifted[8];
        size_t n = fds.size() < 8 ? fds.size() : 8;
        for (size_t i = 0; i < n; ++i)
            lifted[i] = ::fcntl(fds[i], F_DUPFD, 64);
        for (size_t i = 0; i < n; ++i)
            ::dup2(lifted[i], static_cast<int>(3 + i));
        sys::close_fds_from(static_cast<unsigned>(3 + n), false);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    SupervisedHelper h{std::move(name), pid, util::Fd(sys::pidfd_open(pid, 0)), std::move(out_r)};
    return h;
}

namespace {

// await_ready and await_probe: wait for `ready_fd` to be readable (if >= 0) or `probe` to
// succeed (if set, tried every `interval`), watching the helper and collecting its output.
util::Result<std::string> await_helper(SupervisedHelper& h, int ready_fd,
                                       const std::function<bool()>& probe,
                                       std::chrono::milliseconds interval,
                                       std::chrono::seconds timeout) {
    std::string output;
    auto collect = [&] {
        char buf[4096];
        ssize_t n;
        while (h.output && (n = ::read(h.output.get(), buf, sizeof buf)) > 0) {
            output.append(buf, static_cast<size_t>(n));
            if (output.size() > 16384) output.erase(0, output.size() - 16384);
        }
    };
    auto failed = [&](const std::string& what) -> util::Result<std::string> {
        std::string line = last_output_line(output);
        return fail(plain_error(line.empty() ? what : what + ": " + line,
                                fmt::format("run with --debug to see the output of {}", h.name)));
    };
    ::fcntl(h.output.get(), F_SETFL, O_NONBLOCK);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string got;
    for (;;) {
        if (probe && probe()) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            stop_helper(h);
            collect();
            return failed(fmt::format("{} did not become ready in {} s", h.name, timeout.count()));
        }
        if (probe) left = std::min(left, interval);
        pollfd pf[3] = {
            {ready_fd, POLLIN, 0}, {h.pidfd.get(), POLLIN, 0}, {h.output.get(), POLLIN, 0}};
        if (sys::retry_eintr([&] { return ::poll(pf, 3, static_cast<int>(left.count())); }) < 0)
            return fail(util::sys_error("poll"));
        if (pf[2].revents) collect();
        if (ready_fd >= 0 && (pf[0].revents & POLLIN)) {
            char buf[64];
            ssize_t n = sys::retry_eintr([&] { return ::read(ready_fd, buf, sizeof buf); });
            if (n > 0) {
                got.assign(buf, static_cast<size_t>(n));
                break;
            }
        }
        if (pf[1].revents || (ready_fd >= 0 && (pf[0].revents & (POLLHUP | POLLERR)))) {
            // Dead (or it closed the ready fd without a word, and is about to be).
            int st = reap(h);
            collect();
            return failed(fmt::format("{} failed ({})", h.name, sys::describe_wait_status(st)));
        }
    }
    collect();
    if (!output.empty()) util::log::debug("{}: {}", h.name, util::trim(output));
    // Its later output goes to the debug log; the thread ends when the helper does.
    int out = h.output.release();
    auto drain = [fd = out, name = h.name] {
        ::fcntl(fd, F_SETFL, 0);
        char buf[4096];
        ssize_t n;
        while ((n = sys::retry_eintr([&] { return ::read(fd, buf, sizeof buf); })) > 0)
            util::log::debug("{}: {}", name,
                             util::trim(std::string_view(buf, static_cast<size_t>(n))));
        ::close(fd);
    };
    if (auto s = util::start_detached("the output of " + h.name, std::move(drain)); !s) {
        util::log::debug("{}", s.error().message()); // its output is then not logged
        ::close(out);
    }
    return got;
}

} // namespace

util::Result<std::string> await_ready(SupervisedHelper& h, int ready_fd,
                                      std::chrono::seconds timeout) {
    return await_helper(h, ready_fd, nullptr, std::chrono::milliseconds(0), timeout);
}

util::Status await_probe(SupervisedHelper& h, const std::function<bool()>& probe,
                         std::chrono::milliseconds interval, std::chrono::seconds timeout) {
    RK_TRY(await_helper(h, -1, probe, interval, timeout));
    return {};
}

void stop_helper(SupervisedHelper& h) {
    if (h.pid <= 0) return;
    ::kill(h.pid, SIGKILL);
    reap(h);
    util::log::phase(h.name + " stopped");
}

util::Error helper_death(SupervisedHelper& h) {
    int st = reap(h);
    return plain_error(fmt::format("{} exited unexpectedly ({}); the namespace has no network any "
                                   "more",
                                   h.name, sys::describe_wait_status(st)),
                       fmt::format("run with --debug to see the output of {}", h.name));
}

} // namespace rk::net
