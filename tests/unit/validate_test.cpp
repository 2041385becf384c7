// Purpose: option-combination checks done before anything is created (spec 1.2).
#include "cli/flags.hpp"

#include <gtest/gtest.h>

namespace rk::cli {
namespace {

std::string check(std::vector<std::string> args) {
    args.push_back("true");
    auto r = parse(args);
    if (!r) return "parse: " + r.error().context;
    auto st = validate(r->opts);
    return st ? "" : st.error().context;
}

struct Case {
    std::vector<std::string> args;
    std::string error; // "" = valid
};

TEST(Validate, Table) {
    const Case cases[] = {
        {{}, ""},
        {{"--net=none"}, ""},
        {{"--net=bogus"}, "unknown network mode: bogus"},
        {{"--net=slirp4netns", "--disable-host-loopback"}, ""},
        {{"--net=gvisor-tap-vsock", "--disable-host-loopback"}, ""},
        {{"--net=gvisor-tap-vsock", "--ipv6"}, ""}, // upstream refuses; ours has IPv6
        {{"--net=gvisor-tap-vsock", "--port-driver=gvisor-tap-vsock"}, ""},
        {{"--net=slirp4netns", "--port-driver=gvisor-tap-vsock"},
         "port driver requires gvisor-tap-vsock network"},
        {{"--net=auto", "--cidr=10.0.7.0/24", "--port-driver=builtin"}, ""},
        {{"--net=auto", "--port-driver=implicit"}, ""},
        {{"--net=slirp4netns", "--port-driver=slirp4netns", "--disable-host-loopback"}, ""},
        {{"--net=pasta", "--port-driver=implicit", "--disable-host-loopback"}, ""},
        {{"--net=pasta", "--port-driver=pesto", "--disable-host-loopback"}, ""},
        {{"--net=slirp4netns", "--port-driver=pesto"}, "port driver requires pasta network"},
        {{"--port-driver=pesto"}, "port driver requires pasta network"},
        {{"--net=auto", "--port-driver=pesto"}, "port driver requires pasta network"},
        {{"--net=pasta", "--port-driver=builtin"},
         "network \"pasta\" requires port driver \"none\", \"implicit\" or \"pesto\""},
        {{"--mtu=65521"}, ""},
        {{"--mtu=65522"}, "mtu must be <= 65521, got 65522"},
        {{"--mtu=-1"}, "mtu must be <= 65521, got -1"},
        {{"--cidr=10.0.2.0/24"}, "custom cidr is not supported for --net=host"},
        {{"--net=none", "--cidr=10.0.2.0/24"}, "custom cidr is not supported for --net=none"},
        {{"--net=none", "--ifname=eth0"}, "ifname cannot be specified for --net=none"},
        {{"--ifname=a/b"}, "ifname must not contain \"/\": a/b"},
        {{"--port-driver=bogus"}, "unknown port driver: bogus"},
        {{"--port-driver=builtin"}, "port driver requires non-host network"},
        {{"--port-driver=implicit"}, "port driver requires pasta network"},
        {{"--port-driver=slirp4netns", "--net=none"},
         "network \"none\" requires port driver \"none\" or \"builtin\""},
        {{"--net=none", "--port-driver=builtin"}, ""},
        {{"--net=none", "--port-driver=builtin", "-p", "127.0.0.1:8080:80/tcp"}, ""},
        {{"--net=none", "--port-driver=builtin", "-p", "bad"},
         "missing proto in PortSpec string: \"bad\""},
        {{"--net=none", "--port-driver=builtin", "-p", ":8080:80/tcp", "-p", ":8080:81/tcp"},
         "invalid -p :8080:81/tcp: conflict with ID 1"},
        {{"-p", "127.0.0.1:8080:80/tcp"}, "port driver \"none\" does not support publishing ports"},
        {{"--detach-netns"}, ""},
        {{"--reaper=maybe"}, "unknown reaper mode: maybe"},
        {{"--reaper=true"}, "reaper requires --pidns"},
        {{"--reaper=true", "--pidns"}, ""},
        {{"--evacuate-cgroup2=x"}, "evacuate-cgroup2 requires --cgroupns"},
        {{"--evacuate-cgroup2=x", "--cgroupns"}, "evacuate-cgroup2 requires --pidns"},
        {{"--evacuate-cgroup2=a/b", "--cgroupns", "--pidns"},
         "--evacuate-cgroup2 must be a plain group name, got a/b"},
        {{"--subid-source=x"}, "failed to setup UID/GID map: unknown subid source \"x\""},
        {{"--copy-up-mode=overlay"}, "unknown copy-up mode: overlay"},
        {{"--propagation=bogus"}, "unknown propagation mode \"bogus\""},
        {{"--propagation=rshared", "--copy-up=/etc"},
         "propagation rshared does not support copy-up driver tmpfs+symlink"},
        {{"--propagation=rslave", "--copy-up=/etc"}, ""},
        {{"--copy-up=/tmp"}, "/tmp cannot be copied up"},
        {{"--copy-up=etc"}, "--copy-up needs an absolute path, got \"etc\""},
        {{"--copy-up=/"}, "/ cannot be copied up"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(check(c.args), c.error) << ::testing::PrintToString(c.args);
}

TEST(Validate, NoCommand) {
    auto r = parse({});
    ASSERT_TRUE(r);
    EXPECT_EQ(validate(r->opts).error().context, "no command specified");
}

TEST(Validate, Reaper) {
    auto r = parse({"--pidns", "x"});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->opts.reaper_enabled());
    r = parse({"--pidns", "--reaper=false", "x"});
    EXPECT_FALSE(r->opts.reaper_enabled());
    r = parse({"x"});
    EXPECT_FALSE(r->opts.reaper_enabled());
}

} // namespace
} // namespace rk::cli
