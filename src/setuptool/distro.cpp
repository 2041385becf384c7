// Purpose: distribution detection and package names (see distro.hpp).
#include "setuptool/distro.hpp"

#include "sys/fs.hpp"
#include "util/strings.hpp"

#include <fmt/format.h>

namespace rk::setuptool {

namespace {

std::string unquote(std::string_view v) {
    v = util::trim(v);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
        v = v.substr(1, v.size() - 2);
    return std::string(v);
}

Family family_of(std::string_view id) {
    if (id == "debian" || id == "ubuntu" || id == "raspbian" || id == "linuxmint" || id == "pop")
        return Family::Debian;
    if (id == "fedora" || id == "rhel" || id == "centos" || id == "rocky" || id == "almalinux" ||
        id == "amzn")
        return Family::Fedora;
    if (id == "arch" || id == "manjaro" || id == "endeavouros") return Family::Arch;
    if (id == "opensuse" || id == "opensuse-leap" || id == "opensuse-tumbleweed" || id == "sles" ||
        id == "suse")
        return Family::Suse;
    return Family::Unknown;
}

} // namespace

Distro parse_os_release(std::string_view text) {
    Distro d;
    std::string id_like;
    for (auto line : util::split(text, '\n')) {
        line = util::trim(line);
        auto eq = line.find('=');
        if (line.empty() || line.front() == '#' || eq == std::string_view::npos) continue;
        auto key = line.substr(0, eq);
        auto value = unquote(line.substr(eq + 1));
        if (key == "ID")
            d.id = value;
        else if (key == "ID_LIKE")
            id_like = value;
        else if (key == "PRETTY_NAME")
            d.pretty_name = value;
    }
    d.family = family_of(d.id);
    for (auto like : util::fields(id_like))
        if (d.family == Family::Unknown) d.family = family_of(like);
    if (d.pretty_name.empty()) d.pretty_name = d.id.empty() ? "unknown distribution" : d.id;
    return d;
}

Distro detect_distro() {
    for (const char* p : {"/etc/os-release", "/usr/lib/os-release"})
        if (auto t = sys::read_file(p)) return parse_os_release(*t);
    return parse_os_release("");
}

std::string package_name(const Distro& d, std::string_view generic) {
    if (generic == "uidmap") {
        switch (d.family) {
        case Family::Debian:
            return "uidmap";
        case Family::Fedora:
            return "shadow-utils";
        case Family::Arch:
        case Family::Suse:
            return "shadow";
        case Family::Unknown:
            return "uidmap (newuidmap/newgidmap, from shadow-utils)";
        }
    }
    if (generic == "dbus-user-session") {
        switch (d.family) {
        case Family::Debian:
            return "dbus-user-session";
        case Family::Fedora:
            return "dbus-daemon";
        default:
            return "dbus (with its user session)";
        }
    }
    return std::string(generic);
}

std::string install_command(const Distro& d, std::string_view generic) {
    std::string pkg = package_name(d, generic);
    switch (d.family) {
    case Family::Debian:
        return "sudo apt-get install -y " + pkg;
    case Family::Fedora:
        return "sudo dnf install -y " + pkg;
    case Family::Arch:
        return "sudo pacman -S " + pkg;
    case Family::Suse:
        return "sudo zypper install -y " + pkg;
    case Family::Unknown:
        break;
    }
    return fmt::format("install the {} package with your distribution's package manager", pkg);
}

} // namespace rk::setuptool
