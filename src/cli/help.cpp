// Purpose: --help and --version text, laid out like urfave/cli v2.27 (categories in
// alphabetical order, flags in definition order, one aligned column of usage text).
#include "cli/flags.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace rk::cli {

std::string version_string() {
    return RK_VERSION_STRING;
}

std::string help_text() {
    std::string out = fmt::format(
        "NAME:\n"
        "   rootlesskit - Linux-native fakeroot using user namespaces\n"
        "\n"
        "USAGE:\n"
        "   rootlesskit [global options] [arguments...]\n"
        "\n"
        "VERSION:\n"
        "   {}\n"
        "\n"
        "DESCRIPTION:\n"
        "   RootlessKit runs a command as a fake root: uid 0 inside user namespaces, with its\n"
        "   own mounts and, optionally, its own network. This is rootlesskit-cpp, a C++\n"
        "   implementation that accepts the command line of upstream RootlessKit v3.\n"
        "\n"
        "   Examples:\n"
        "     # a shell in a new user namespace and mount namespace\n"
        "     rootlesskit bash\n"
        "\n"
        "     # a writable /etc\n"
        "     rootlesskit --copy-up=/etc bash\n"
        "\n"
        "     # receive mounts made on the host later\n"
        "     rootlesskit --propagation=rslave bash\n"
        "\n"
        "     # a network namespace with loopback only, and a fresh PID namespace\n"
        "     rootlesskit --net=none --pidns bash\n"
        "\n"
        "   Note: /etc/subuid and /etc/subgid must give your user a range of sub-IDs;\n"
        "   only root can add one (see docs/troubleshooting.md).\n"
        "\n"
        "OPTIONS:\n",
        version_string());

    out += format_flags(flag_table());
    return out;
}

} // namespace rk::cli
