// Purpose: which distribution we run on (/etc/os-release), so that every fix names the right
// package manager and package.
#pragma once

#include <string>
#include <string_view>

namespace rk::setuptool {

enum class Family { Debian, Fedora, Arch, Suse, Unknown };

struct Distro {
    std::string id;          // ID= ("debian", "ubuntu", "fedora", ...)
    std::string pretty_name; // PRETTY_NAME=
    Family family = Family::Unknown;
};

// Parses os-release text (KEY=value lines, values optionally quoted).
Distro parse_os_release(std::string_view text);
// /etc/os-release, then /usr/lib/os-release; Unknown when neither can be read.
Distro detect_distro();

// The generic name of a package we recommend: "uidmap", "slirp4netns", "passt",
// "fuse-overlayfs", "dbus-user-session". Maps it to this family's name.
std::string package_name(const Distro& d, std::string_view generic);
// "sudo apt-get install -y uidmap", "sudo dnf install -y shadow-utils", ...
std::string install_command(const Distro& d, std::string_view generic);

} // namespace rk::setuptool
