// Purpose: rootless-setuptool's pure parts - distro detection, every check's diagnosis from
// given facts (severity and fix), version parsing, and the units/commands install writes.
#include "setuptool/check.hpp"
#include "setuptool/distro.hpp"
#include "setuptool/service.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rk::setuptool {
namespace {

bool has(const std::string& s, const std::string& what) {
    return s.find(what) != std::string::npos;
}

const Distro kDebian = parse_os_release("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n");

TEST(Distro, FamiliesAndPackageNames) {
    struct Case {
        const char* text;
        Family family;
        const char* uidmap_install;
    } cases[] = {
        {"ID=debian\n", Family::Debian, "sudo apt-get install -y uidmap"},
        {"ID=ubuntu\nID_LIKE=debian\n", Family::Debian, "sudo apt-get install -y uidmap"},
        {"ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", Family::Fedora,
         "sudo dnf install -y shadow-utils"},
        {"ID=fedora\n", Family::Fedora, "sudo dnf install -y shadow-utils"},
        {"ID=arch\n", Family::Arch, "sudo pacman -S shadow"},
        {"ID=opensuse-tumbleweed\nID_LIKE=\"opensuse suse\"\n", Family::Suse,
         "sudo zypper install -y shadow"},
        {"ID=nixos\n", Family::Unknown, "install the uidmap"},
        {"", Family::Unknown, "install the uidmap"},
    };
    for (const auto& c : cases) {
        Distro d = parse_os_release(c.text);
        EXPECT_EQ(d.family, c.family) << c.text;
        EXPECT_TRUE(has(install_command(d, "uidmap"), c.uidmap_install))
            << c.text << " -> " << install_command(d, "uidmap");
    }
    EXPECT_EQ(kDebian.pretty_name, "Debian GNU/Linux 12");
    EXPECT_EQ(package_name(parse_os_release("ID=fedora"), "dbus-user-session"), "dbus-daemon");
}

const parent::User kUser{1001, 1001, "penguin"};

TEST(Subids, MissingShortOverlappingAndGood) {
    auto none =
        diagnose_subids(parent::IdKind::Uid, kUser, std::vector<parent::SubidRange>{}, 231072);
    EXPECT_EQ(none.severity, Severity::Fail);
    EXPECT_TRUE(has(none.found, "no range for penguin")) << none.found;
    EXPECT_TRUE(has(none.fix, "usermod --add-subuids 231072-296607 penguin")) << none.fix;
    EXPECT_TRUE(has(none.fix, "penguin:231072:65536")) << none.fix;

    auto gid =
        diagnose_subids(parent::IdKind::Gid, kUser, std::vector<parent::SubidRange>{}, 100000);
    EXPECT_TRUE(has(gid.fix, "--add-subgids")) << gid.fix;
    EXPECT_TRUE(has(gid.fix, "/etc/subgid")) << gid.fix;

    auto small = diagnose_subids(parent::IdKind::Uid, kUser,
                                 std::vector<parent::SubidRange>{{100000, 1000}}, 231072);
    EXPECT_EQ(small.severity, Severity::Warn);
    EXPECT_TRUE(has(small.found, "lchown")) << small.found;

    auto overlap = diagnose_subids(parent::IdKind::Uid, kUser,
                                   std::vector<parent::SubidRange>{{1000, 65536}}, 231072);
    EXPECT_EQ(overlap.severity, Severity::Fail);
    EXPECT_TRUE(has(overlap.found, "contains penguin's own uid 1001")) << overlap.found;

    // two ranges add up
    auto two =
        diagnose_subids(parent::IdKind::Uid, kUser,
                        std::vector<parent::SubidRange>{{100000, 32768}, {200000, 32768}}, 231072);
    EXPECT_EQ(two.severity, Severity::Ok) << two.found;

    util::Result<std::vector<parent::SubidRange>> broken =
        util::fail(util::plain_error("/etc/subuid:3: malformed line"));
    EXPECT_EQ(diagnose_subids(parent::IdKind::Uid, kUser, broken, 1).severity, Severity::Fail);
}

TEST(Userns, ProbeAndSysctls) {
    EXPECT_EQ(diagnose_userns(0, {28633, std::nullopt, std::nullopt}).severity, Severity::Ok);
    EXPECT_EQ(diagnose_userns(0, {100, std::nullopt, std::nullopt}).severity, Severity::Warn);
    auto zero = diagnose_userns(ENOSPC, {0, std::nullopt, std::nullopt});
    EXPECT_EQ(zero.severity, Severity::Fail);
    EXPECT_TRUE(has(zero.fix, "max_user_namespaces=28633")) << zero.fix;
    auto debian10 = diagnose_userns(EPERM, {15000, 0, std::nullopt});
    EXPECT_TRUE(has(debian10.fix, "unprivileged_userns_clone=1")) << debian10.fix;
    auto ubuntu = diagnose_userns(EACCES, {15000, std::nullopt, 1});
    EXPECT_TRUE(has(ubuntu.fix, "apparmor")) << ubuntu.fix;
    EXPECT_FALSE(diagnose_userns(EINVAL, {15000, 1, 0}).fix.empty());
}

TEST(XdgRuntimeDir, EveryWayItGoesWrong) {
    struct Case {
        std::optional<std::string> value;
        PathFacts facts;
        Severity want;
        const char* found_has;
    } cases[] = {
        {std::nullopt, {}, Severity::Fail, "not set"},
        {"", {}, Severity::Fail, "not set"},
        {"/run/user/1001", {false, false, 0, 0}, Severity::Fail, "does not exist"},
        {"/run/user/1001", {true, false, 1001, 0100600}, Severity::Fail, "not a directory"},
        {"/run/user/1001", {true, true, 0, 040700}, Severity::Fail, "owned by uid 0"},
        {"/tmp/xdg", {true, true, 1001, 040700}, Severity::Warn, "under /tmp"},
        {"/tmp//./xdg", {true, true, 1001, 040700}, Severity::Warn, "under /tmp"},
        {"/tmpfoo", {true, true, 1001, 040700}, Severity::Ok, "yours"},
        {"/run/user/1001", {true, true, 1001, 040755}, Severity::Warn, "open to others"},
        {"/run/user/1001", {true, true, 1001, 040700}, Severity::Ok, "yours"},
    };
    for (const auto& c : cases) {
        auto f = diagnose_xdg_runtime_dir(c.value, c.facts, 1001);
        EXPECT_EQ(f.severity, c.want) << c.value.value_or("(unset)") << ": " << f.found;
        EXPECT_TRUE(has(f.found, c.found_has)) << f.found;
        if (f.severity != Severity::Ok) {
            EXPECT_FALSE(f.fix.empty());
        }
    }
}

TEST(Devices, FixDependsOnErrno) {
    EXPECT_EQ(diagnose_device("tun", "/dev/net/tun", 0, "x", Severity::Warn).severity,
              Severity::Ok);
    auto perm = diagnose_device("tun", "/dev/net/tun", EACCES, "x", Severity::Warn);
    EXPECT_EQ(perm.severity, Severity::Warn);
    EXPECT_TRUE(has(perm.fix, "chmod 0666 /dev/net/tun")) << perm.fix;
    auto gone = diagnose_device("fuse", "/dev/fuse", ENOENT, "x", Severity::Info);
    EXPECT_EQ(gone.severity, Severity::Info);
    EXPECT_TRUE(has(gone.fix, "modprobe fuse")) << gone.fix;
}

TEST(Versions, HelpersPrintTheirOwnWay) {
    auto s = parse_helper_version("slirp4netns version 1.2.0\ncommit: 656041d\n");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->parts, (std::vector<long>{1, 2, 0}));
    auto p = parse_helper_version("pasta 2023_12_04.b86afe3\nCopyright Red Hat\n");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->parts, (std::vector<long>{2023, 12, 4}));
    EXPECT_FALSE(parse_helper_version("pasta unknown version\nCopyright Red Hat\n"));
    // a runaway number (found by fuzz_setuptool under UBSan) saturates instead of overflowing
    auto big = parse_helper_version("x 5555555555555555555555.10\n");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->parts.size(), 2u);
    EXPECT_EQ(big->parts[1], 10);
    EXPECT_FALSE(parse_helper_version(""));
    auto k = parse_helper_version("6.18.44-fc-v595");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->parts, (std::vector<long>{6, 18, 44}));

    EXPECT_TRUE(version_at_least(*s, {0, 4, 0}));
    EXPECT_FALSE(version_at_least(Version{{0, 3, 9}, "0.3.9"}, {0, 4, 0}));
    EXPECT_TRUE(version_at_least(Version{{0, 4}, "0.4"}, {0, 4, 0}));
    EXPECT_FALSE(version_at_least(Version{{2023, 6, 3}, ""}, {2023, 6, 25}));
}

TEST(Helpers, Slirp4netnsAndPasta) {
    EXPECT_EQ(diagnose_slirp4netns(std::nullopt, std::nullopt, kDebian).severity, Severity::Warn);
    EXPECT_TRUE(has(diagnose_slirp4netns(std::nullopt, std::nullopt, kDebian).fix,
                    "apt-get install -y slirp4netns"));
    EXPECT_EQ(
        diagnose_slirp4netns("/usr/bin/slirp4netns", Version{{0, 3, 0}, "0.3.0"}, kDebian).severity,
        Severity::Warn);
    EXPECT_EQ(
        diagnose_slirp4netns("/usr/bin/slirp4netns", Version{{1, 2, 0}, "1.2.0"}, kDebian).severity,
        Severity::Ok);
    const rk::util::Status works;
    const rk::util::Status lacks =
        rk::util::fail(rk::util::plain_error("/usr/bin/pasta does not support --config-net"));
    EXPECT_EQ(diagnose_pasta(std::nullopt, std::nullopt, works, kDebian).severity, Severity::Info);
    // Debian 12's passt prints no version and works: what is tried decides, not a version
    auto debian12 = diagnose_pasta("/usr/bin/pasta", std::nullopt, works, kDebian);
    EXPECT_EQ(debian12.severity, Severity::Ok);
    EXPECT_FALSE(has(debian12.found, "2023_06_25")) << debian12.found;
    auto old =
        diagnose_pasta("/usr/bin/pasta", Version{{2022, 1, 1}, "2022_01_01"}, lacks, kDebian);
    EXPECT_EQ(old.severity, Severity::Warn);
    EXPECT_TRUE(has(old.found, "does not support --config-net")) << old.found;
}

TEST(Kernel, StorageDriverBySeedRules) {
    auto f = [](const char* rel, bool ubuntu, bool fuse) {
        return diagnose_kernel({rel, ubuntu, fuse}, kDebian);
    };
    EXPECT_EQ(f("5.11.0", false, false).severity, Severity::Ok);
    EXPECT_TRUE(has(f("5.11.0", false, false).found, "overlayfs works"));
    EXPECT_TRUE(has(f("5.4.0-100-generic", true, false).found, "overlayfs works"));
    EXPECT_EQ(f("5.10.0-20-amd64", false, true).severity, Severity::Ok);
    EXPECT_TRUE(has(f("5.10.0-20-amd64", false, true).found, "fuse-overlayfs"));
    auto nofuse = f("4.19.0", false, false);
    EXPECT_EQ(nofuse.severity, Severity::Warn);
    EXPECT_TRUE(has(nofuse.fix, "fuse-overlayfs")) << nofuse.fix;
    EXPECT_TRUE(has(f("4.15.0", false, true).found, "vfs"));
}

TEST(Cgroup, VersionAndDelegation) {
    EXPECT_EQ(diagnose_cgroup({false, std::nullopt}, 1001).severity, Severity::Warn);
    EXPECT_EQ(diagnose_cgroup({true, std::nullopt}, 1001).severity, Severity::Warn);
    auto partial = diagnose_cgroup({true, "memory pids\n"}, 1001);
    EXPECT_EQ(partial.severity, Severity::Info);
    EXPECT_TRUE(has(partial.found, "memory pids")) << partial.found;
    EXPECT_TRUE(has(partial.fix, "Delegate=cpu cpuset io memory pids")) << partial.fix;
    EXPECT_EQ(diagnose_cgroup({true, "cpuset cpu io memory pids\n"}, 1001).severity, Severity::Ok);
}

TEST(Sysctls, PingAndPrivilegedPorts) {
    EXPECT_EQ(diagnose_ping_group_range("1\t0\n", {1001}).severity, Severity::Warn);
    EXPECT_EQ(diagnose_ping_group_range("0\t2147483647\n", {1001}).severity, Severity::Ok);
    EXPECT_EQ(diagnose_ping_group_range("100 200", {50, 150}).severity, Severity::Ok);
    EXPECT_EQ(diagnose_ping_group_range("garbage", {1}).severity, Severity::Info);
    EXPECT_EQ(diagnose_unprivileged_port_start(0).severity, Severity::Ok);
    auto ports = diagnose_unprivileged_port_start(1024);
    EXPECT_EQ(ports.severity, Severity::Info);
    EXPECT_TRUE(has(ports.fix, "cap_net_bind_service")) << ports.fix;
    EXPECT_TRUE(has(ports.fix, "ip_unprivileged_port_start=0")) << ports.fix;
}

TEST(DataDir, NfsFails) {
    EXPECT_EQ(diagnose_data_dir("/home/u/.local/share", 0x6969).severity, Severity::Fail);
    EXPECT_TRUE(has(diagnose_data_dir("/x", 0x6969).fix, "data-root"));
    EXPECT_EQ(diagnose_data_dir("/x", 0xEF53).severity, Severity::Ok);
    EXPECT_TRUE(has(diagnose_data_dir("/x", 0xEF53).found, "ext4"));
}

TEST(Session, SystemdAndDbus) {
    EXPECT_EQ(diagnose_systemd({false, false, false, false, false}, "u").severity, Severity::Info);
    EXPECT_EQ(diagnose_systemd({true, false, false, false, true}, "u").severity, Severity::Info);
    auto no_manager = diagnose_systemd({true, true, false, false, true}, "u");
    EXPECT_EQ(no_manager.severity, Severity::Warn);
    EXPECT_TRUE(has(no_manager.fix, "loginctl enable-linger u")) << no_manager.fix;
    EXPECT_EQ(diagnose_systemd({true, true, true, true, true}, "u").severity, Severity::Ok);
    auto nodbus = diagnose_dbus({true, true, true, false, true}, kDebian);
    EXPECT_EQ(nodbus.severity, Severity::Warn);
    EXPECT_TRUE(has(nodbus.fix, "apt-get install -y dbus-user-session")) << nodbus.fix;
    EXPECT_EQ(diagnose_dbus({true, true, true, false, false}, kDebian).severity, Severity::Info);
}

TEST(Report, TextAndJson) {
    std::vector<Finding> f = {{"user", Severity::Ok, "u", ""},
                              {"subuid", Severity::Fail, "no \"range\"", "add one"},
                              {"ping", Severity::Warn, "range", "sysctl"}};
    EXPECT_FALSE(rootless_will_work(f));
    auto text = format_text(f);
    EXPECT_TRUE(has(text, "[fail] subuid: no \"range\"\n       fix: add one\n")) << text;
    EXPECT_TRUE(has(text, "will NOT work: fix the 1 failed check above")) << text;
    auto j = nlohmann::json::parse(format_json(f, kDebian));
    EXPECT_EQ(j["ok"], false);
    EXPECT_EQ(j["distro"], "Debian GNU/Linux 12");
    ASSERT_EQ(j["checks"].size(), 3u);
    EXPECT_EQ(j["checks"][1]["status"], "fail");
    EXPECT_EQ(j["checks"][1]["found"], "no \"range\"");
    f.erase(f.begin() + 1);
    EXPECT_TRUE(rootless_will_work(f));
}

TEST(Service, DockerUnitAndCommand) {
    PlanInput in;
    in.daemon = "dockerd";
    in.daemon_path = "/usr/sbin/dockerd";
    in.daemon_args = {"--storage-driver=vfs"};
    in.extra_flags = {"-p", "0.0.0.0:2376:2376/tcp"};
    in.have_slirp4netns = true;
    auto p = plan_service(in);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->name, "docker");
    std::string unit = render_unit(*p, "/opt/rk/bin/rootlesskit", "/opt/rk/bin");
    EXPECT_EQ(unit.rfind(kUnitMarker, 0), 0u);
    EXPECT_TRUE(has(unit, "Environment=PATH=/opt/rk/bin:")) << unit;
    EXPECT_TRUE(has(unit, "ExecStart=/opt/rk/bin/rootlesskit --state-dir=%t/dockerd-rootless "
                          "--net=slirp4netns --mtu=65520"))
        << unit;
    EXPECT_TRUE(has(unit, "--copy-up=/etc --copy-up=/run --propagation=rslave -p "
                          "0.0.0.0:2376:2376/tcp /bin/sh -c \"rm -f /run/docker"))
        << unit;
    // systemd would expand $0 and $@ itself without the doubling
    EXPECT_TRUE(
        has(unit, "exec \\\"$$0\\\" \\\"$$@\\\"\" /usr/sbin/dockerd --storage-driver=vfs\n"))
        << unit;
    EXPECT_TRUE(has(unit, "Delegate=yes\n")) << unit;
    EXPECT_TRUE(has(unit, "WantedBy=default.target\n")) << unit;

    Paths paths{"/run/user/1001", "/home/u", "/home/u/.local/share", "/home/u/.config"};
    std::string cmd = render_command(*p, "/opt/rk/bin/rootlesskit", paths);
    EXPECT_TRUE(has(cmd, "--state-dir=/run/user/1001/dockerd-rootless")) << cmd;
    EXPECT_TRUE(has(cmd, "/bin/sh -c 'rm -f /run/docker /run/containerd /run/xtables.lock && "
                         "exec \"$0\" \"$@\"' /usr/sbin/dockerd --storage-driver=vfs"))
        << cmd;
    ASSERT_EQ(p->client_env.size(), 1u);
    EXPECT_EQ(p->client_env[0].first, "DOCKER_HOST");
}

TEST(Service, EmbeddedNetWithoutSlirp4netnsAndOtherDaemons) {
    PlanInput in;
    in.daemon = "dockerd";
    auto docker = plan_service(in);
    ASSERT_TRUE(docker);
    std::string unit = render_unit(*docker, "/rk", "/");
    EXPECT_TRUE(has(unit, "--net=gvisor-tap-vsock")) << unit;
    EXPECT_FALSE(has(unit, "slirp4netns")) << unit;

    in.daemon = "containerd";
    auto ctrd = plan_service(in);
    ASSERT_TRUE(ctrd);
    unit = render_unit(*ctrd, "/rk", "/");
    EXPECT_TRUE(has(unit, "--copy-up=/var/lib")) << unit;
    EXPECT_TRUE(has(unit, "mount --bind %h/.local/share/containerd /var/lib/containerd")) << unit;
    EXPECT_EQ(ctrd->client_env[0].first, "CONTAINERD_ADDRESS");

    in.daemon = "buildkitd";
    auto bk = plan_service(in);
    ASSERT_TRUE(bk);
    EXPECT_EQ(bk->name, "buildkit");
    unit = render_unit(*bk, "/rk", "/");
    EXPECT_TRUE(has(unit, "--net=gvisor-tap-vsock --copy-up=/etc --disable-host-loopback "
                          "buildkitd\n"))
        << unit;
    EXPECT_EQ(bk->client_env[0].first, "BUILDKIT_HOST");

    in.daemon = "podman";
    auto bad = plan_service(in);
    ASSERT_FALSE(bad);
    EXPECT_TRUE(has(bad.error().message(), "dockerd, containerd or buildkitd"));
}

// dockerd told to listen elsewhere (-H) makes no docker.sock: the client is pointed there.
TEST(Service, DockerHostFollowsDockerdsListenAddress) {
    PlanInput in;
    in.daemon = "dockerd";
    for (auto args : std::vector<std::vector<std::string>>{{"-H", "tcp://0.0.0.0:2376"},
                                                           {"--host=tcp://0.0.0.0:2376"},
                                                           {"--tls", "-Htcp://0.0.0.0:2376"}}) {
        in.daemon_args = args;
        auto p = plan_service(in);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->client_env[0].second, "tcp://0.0.0.0:2376");
    }
    in.daemon_args = {"--storage-driver=vfs"};
    EXPECT_EQ(plan_service(in)->client_env[0].second, "unix://{runtime}/docker.sock");
    EXPECT_FALSE(dockerd_host({"-H"}));
}

TEST(Service, ExecFormAndNames) {
    PlanInput in;
    in.exec = {"/usr/bin/k3s", "server", "--rootless"};
    auto p = plan_service(in);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "k3s");
    EXPECT_EQ(p->command, (std::vector<std::string>{"/usr/bin/k3s", "server", "--rootless"}));
    EXPECT_TRUE(p->prelude.empty());
    in.name = "../evil";
    EXPECT_FALSE(plan_service(in));
    in.name = "my@unit";
    EXPECT_FALSE(plan_service(in));
    in.name = "k3s-dev";
    EXPECT_TRUE(plan_service(in));
}

TEST(Service, Quoting) {
    EXPECT_EQ(sh_quote("plain/path-1.0"), "plain/path-1.0");
    EXPECT_EQ(sh_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(sh_quote(""), "''");
    EXPECT_EQ(sh_quote("$HOME"), "'$HOME'");
    // a % in an argument must survive systemd's specifier expansion
    PlanInput in;
    in.exec = {"/bin/app", "--fmt=%d"};
    in.name = "app";
    auto p = plan_service(in);
    ASSERT_TRUE(p);
    EXPECT_TRUE(has(render_unit(*p, "/rk", "/"), " /bin/app --fmt=%%d\n"));
}

} // namespace
} // namespace rk::setuptool
