// Purpose: the Go-flag parsing rules of the rootlesskit command line (spec 1.1).
#include "cli/flags.hpp"

#include <gtest/gtest.h>

namespace rk::cli {
namespace {

using Args = std::vector<std::string>;

ParseResult ok(const Args& a) {
    auto r = parse(a);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
    return r ? *r : ParseResult{};
}

std::string err(const Args& a) {
    auto r = parse(a);
    EXPECT_FALSE(r.has_value());
    return r ? "" : r.error().context;
}

TEST(Flags, StopsAtFirstNonFlag) {
    auto r = ok({"--pidns", "ls", "-l", "--net=none"});
    EXPECT_TRUE(r.opts.pidns);
    EXPECT_EQ(r.opts.command, (Args{"ls", "-l", "--net=none"}));
    EXPECT_EQ(r.opts.net, "host");
}

TEST(Flags, DoubleDashIsConsumed) {
    auto r = ok({"--net", "none", "--", "--pidns"});
    EXPECT_EQ(r.opts.net, "none");
    EXPECT_FALSE(r.opts.pidns);
    EXPECT_EQ(r.opts.command, (Args{"--pidns"}));
}

TEST(Flags, SingleAndDoubleDashFormsAreEquivalent) {
    for (const Args& a : {Args{"-net", "none", "x"}, Args{"--net", "none", "x"},
                          Args{"-net=none", "x"}, Args{"--net=none", "x"}})
        EXPECT_EQ(ok(a).opts.net, "none");
}

TEST(Flags, LoneDashIsTheCommand) {
    auto r = ok({"-", "a"});
    EXPECT_EQ(r.opts.command, (Args{"-", "a"}));
}

TEST(Flags, BoolTakesValueOnlyWithEquals) {
    auto r = ok({"--pidns", "false"});
    EXPECT_TRUE(r.opts.pidns);
    EXPECT_EQ(r.opts.command, (Args{"false"}));
    EXPECT_FALSE(ok({"--pidns=false", "x"}).opts.pidns);
    for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
        EXPECT_TRUE(ok({std::string("--pidns=") + t, "x"}).opts.pidns) << t;
    for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
        EXPECT_FALSE(ok({std::string("--pidns=") + f, "x"}).opts.pidns) << f;
    EXPECT_EQ(err({"--pidns=yes", "x"}), "invalid boolean value \"yes\" for -pidns: parse error");
    EXPECT_TRUE(ok({"--source-ip-transparent=false", "x"}).opts.source_ip_transparent == false);
}

TEST(Flags, ScalarNeedsValueAndLastWins) {
    EXPECT_EQ(err({"--net"}), "flag needs an argument: -net");
    EXPECT_EQ(ok({"--net=none", "--net", "host", "x"}).opts.net, "host");
    // A separate value may start with a dash.
    EXPECT_EQ(ok({"--state-dir", "-weird", "x"}).opts.state_dir, "-weird");
}

TEST(Flags, SlicesRepeatAndSplitOnCommas) {
    auto r = ok({"--copy-up=/etc,/run", "--copy-up", " /var ", "-p", "a,b", "x"});
    EXPECT_EQ(r.opts.copy_up, (Args{"/etc", "/run", "/var"}));
    EXPECT_EQ(r.opts.publish, (Args{"a", "b"}));
}

TEST(Flags, UnknownAndBadSyntax) {
    EXPECT_EQ(err({"--foo", "x"}), "flag provided but not defined: -foo");
    EXPECT_EQ(err({"-foo=1", "x"}), "flag provided but not defined: -foo");
    EXPECT_EQ(err({"---net=none", "x"}), "bad flag syntax: ---net=none");
    EXPECT_EQ(err({"-=x", "x"}), "bad flag syntax: -=x");
}

TEST(Flags, Mtu) {
    EXPECT_EQ(ok({"--mtu=1500", "x"}).opts.mtu, 1500);
    EXPECT_EQ(ok({"--mtu=0x10", "x"}).opts.mtu, 16);
    EXPECT_EQ(ok({"--mtu=010", "x"}).opts.mtu, 8);
    EXPECT_EQ(ok({"--mtu=-5", "x"}).opts.mtu, -5);
    EXPECT_EQ(err({"--mtu=x", "x"}), "invalid value \"x\" for flag -mtu: parse error");
    EXPECT_EQ(err({"--mtu=", "x"}), "invalid value \"\" for flag -mtu: parse error");
    EXPECT_EQ(err({"--mtu=99999999999999999999", "x"}),
              "invalid value \"99999999999999999999\" for flag -mtu: value out of range");
}

TEST(Flags, GoInt) {
    EXPECT_EQ(*parse_go_int("0b101"), 5);
    EXPECT_EQ(*parse_go_int("0o17"), 15);
    EXPECT_EQ(*parse_go_int("0x_1F"), 31);
    EXPECT_EQ(*parse_go_int("1_000"), 1000);
    EXPECT_FALSE(parse_go_int("_1").has_value());
    EXPECT_FALSE(parse_go_int("1__0").has_value());
    EXPECT_FALSE(parse_go_int("1_").has_value());
    EXPECT_FALSE(parse_go_int("09").has_value());
    EXPECT_FALSE(parse_go_int("0x").has_value());
    EXPECT_FALSE(parse_go_int("1 ").has_value());
    EXPECT_EQ(*parse_go_int("-9223372036854775808"), INT64_MIN);
    EXPECT_FALSE(parse_go_int("9223372036854775808").has_value());
}

TEST(Flags, HelpWinsOverCommand) {
    EXPECT_EQ(ok({"-h", "x"}).action, Action::Help);
    EXPECT_EQ(ok({"--version"}).action, Action::Version);
    EXPECT_EQ(ok({"-v"}).action, Action::Version);
    auto r = ok({"--print-semver=minor"});
    EXPECT_EQ(r.action, Action::PrintSemver);
    EXPECT_EQ(r.semver_part, "minor");
    // "rootlesskit true --version" runs `true --version`.
    EXPECT_EQ(ok({"true", "--version"}).action, Action::Run);
}

TEST(Flags, HelpListsCategoriesAlphabetically) {
    std::string h = help_text();
    auto pos = [&](const char* s) { return h.find(s); };
    EXPECT_LT(pos("   Misc:"), pos("   Mount:"));
    EXPECT_LT(pos("   Mount:"), pos("   Network:"));
    EXPECT_LT(pos("   Port:"), pos("   Process:"));
    EXPECT_LT(pos("   State:"), pos("   SubID:"));
    EXPECT_NE(pos("--copy-up value [ --copy-up value ]"), std::string::npos);
    EXPECT_NE(pos("--publish value, -p value [ --publish value, -p value ]"), std::string::npos);
    // Built: advertised (containerd-rootless.sh greps --help for it).
    EXPECT_NE(pos("--detach-netns"), std::string::npos);
    EXPECT_NE(pos("--vpnkit-binary"), std::string::npos);
    EXPECT_NE(pos("--source-ip-transparent"), std::string::npos);
}

} // namespace
} // namespace rk::cli
