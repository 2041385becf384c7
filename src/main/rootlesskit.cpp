// Purpose: the rootlesskit command - parse, validate, then run the parent half (which clones
// the child half).
#include "child/child.hpp"
#include "cli/flags.hpp"
#include "parent/parent.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

// A caller that closed stdin/stdout/stderr would otherwise see our pipes land on fds 0-2 and
// reach the command as its stdio.
static void ensure_stdio_open() {
    for (int fd = 0; fd <= 2; ++fd)
        if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = ::open("/dev/null", O_RDWR);
            if (n >= 0 && n != fd) ::close(n); // cannot happen: the lowest free fd is `fd`
        }
}

static int run_main(int argc, char** argv) {
    namespace log = rk::util::log;
    ensure_stdio_open();
    std::vector<std::string> args(argv + 1, argv + argc);
    auto parsed = rk::cli::parse(args);
    if (!parsed) {
        log::error("{}", parsed.error().message());
        return 1;
    }
    switch (parsed->action) {
    case rk::cli::Action::Help:
        std::fputs(rk::cli::help_text().c_str(), stdout);
        return 0;
    case rk::cli::Action::Version:
        std::printf("rootlesskit version %s\n", rk::cli::version_string().c_str());
        return 0;
    case rk::cli::Action::PrintSemver: {
        const std::string& part = parsed->semver_part;
        std::string v = rk::cli::version_string();
        unsigned major = 0, minor = 0, patch = 0;
        std::sscanf(v.c_str(), "%u.%u.%u", &major, &minor, &patch);
        if (part == "major")
            std::printf("%u\n", major);
        else if (part == "minor")
            std::printf("%u\n", minor);
        else if (part == "patch")
            std::printf("%u\n", patch);
        else {
            log::error("expected --print-semver=(major|minor|patch), got \"{}\"", part);
            return 1;
        }
        return 0;
    }
    case rk::cli::Action::Run:
        break;
    }
    log::set_debug(parsed->opts.debug);
    if (auto st = rk::cli::validate(parsed->opts); !st) {
        log::error("{}", st.error().message());
        return 1;
    }
    return rk::parent::run(parsed->opts, rk::child::main);
}

int main(int argc, char** argv) {
    return rk::util::guarded_main("rootlesskit", [&] { return run_main(argc, argv); });
}
