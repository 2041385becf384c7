// Purpose: rootlesskit-netd - the embedded user-mode network (--net=gvisor-tap-vsock): libslirp
// on the namespace's tap device, in a process of its own so that packets crafted inside the
// namespace are parsed away from api.sock and the port listeners, and sandboxed before the
// first packet. Started by rootlesskit only: fd 3 is the tap device, fd 4 a pipe on which
// "1" says ready ("2": ready, but without Landlock, as the user allowed); arguments in config.hpp.
#include "netd/config.hpp"
#include "netd/sandbox.hpp"
#include "netd/stack.hpp"
#include "util/guard.hpp"

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace {

int die(const std::string& msg) {
    std::fprintf(stderr, "rootlesskit-netd: %s\n", msg.c_str());
    return 1;
}

rk::util::Result<rk::util::Fd> listen_unix(const std::string& path) {
    rk::util::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return rk::util::fail(rk::util::sys_error("socket"));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path)
        return rk::util::fail(rk::util::plain_error("API socket path too long: " + path));
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    ::unlink(path.c_str());
    mode_t old = ::umask(0177); // 0600: the user only
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::umask(old);
    if (rc != 0 || ::listen(fd.get(), 16) != 0)
        return rk::util::fail(rk::util::sys_error("cannot listen on " + path));
    return fd;
}

} // namespace

static int run_main(int argc, char** argv) {
    ::prctl(PR_SET_NAME, "rootlesskit-netd");
    // Die with the process that started us. rootlesskit sets this before exec already; set here
    // too it also holds when something runs in between (a wrapper such as strace).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // libslirp writes to host sockets whose peer may have gone: EPIPE, not death.
    ::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    auto cfg = rk::netd::parse_config(args);
    if (!cfg) return die(cfg.error().message());
    rk::util::Fd tap(3), ready(4);
    if (::fcntl(tap.get(), F_GETFD) < 0 || ::fcntl(ready.get(), F_GETFD) < 0)
        return die("fd 3 (tap) and fd 4 (ready pipe) must be open: run by rootlesskit only");
    ::fcntl(tap.get(), F_SETFD, FD_CLOEXEC);
    ::fcntl(ready.get(), F_SETFD, FD_CLOEXEC);
    rk::util::Fd api;
    if (!cfg->api_socket.empty()) {
        auto l = listen_unix(cfg->api_socket);
        if (!l) return die(l.error().message());
        api = std::move(*l);
    }
    auto stack = rk::netd::Stack::create(*cfg, std::move(tap), std::move(api));
    if (!stack) return die(stack.error().message());
    auto sandbox = rk::netd::enter_sandbox(cfg->without_landlock);
    if (!sandbox) return die("cannot enter the sandbox: " + sandbox.error().message());
    // "1": ready in the full sandbox; "2": ready without Landlock (rootlesskit warns).
    const char* token = sandbox->landlock ? "1" : "2";
    if (::write(ready.get(), token, 1) != 1) return die("cannot signal readiness");
    ready.reset();
    return (*stack)->run();
}

int main(int argc, char** argv) {
    return rk::util::guarded_main("rootlesskit-netd", [&] { return run_main(argc, argv); });
}
