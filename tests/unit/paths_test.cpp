// Purpose: path cleaning (as Go's filepath.Clean) and the small string helpers.
#include "sys/fs.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

namespace rk {
namespace {

TEST(Paths, Mountinfo) {
    const char* text = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                       "30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"
                       "31 22 0:27 / /mnt/with\\040space rw shared:5 master:2 - tmpfs none rw\n"
                       "garbage line\n"
                       "40 22 0:30 / /no/separator rw shared:7 tmpfs none rw\n"
                       "41 22 0:31 / / rw - overlay overlay rw\n";
    auto m = sys::parse_mountinfo(text);
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[0].mountpoint, "/");
    EXPECT_EQ(m[0].optional, std::vector<std::string>{"shared:1"});
    EXPECT_EQ(m[0].fstype, "ext4");
    EXPECT_EQ(m[1].fstype, "cgroup2");
    EXPECT_TRUE(m[1].optional.empty());
    EXPECT_EQ(m[2].mountpoint, "/mnt/with\\040space");
    EXPECT_EQ(m[2].optional, (std::vector<std::string>{"shared:5", "master:2"}));
    // the last mount on / hides the first: private
    EXPECT_EQ(m[3].mountpoint, "/");
    EXPECT_TRUE(m[3].optional.empty());
    EXPECT_FALSE(sys::own_mounts().empty());
}

TEST(Paths, Clean) {
    const std::pair<const char*, const char*> cases[] = {
        {"/etc/", "/etc"},
        {"//etc//x/", "/etc/x"},
        {"/etc/../run", "/run"},
        {"/..", "/"},
        {"a/./b", "a/b"},
        {"../a", "../a"},
        {"", "."},
        {"/", "/"},
        {"/a/b/../../..", "/"},
    };
    for (auto [in, out] : cases)
        EXPECT_EQ(sys::clean_path(in), out) << in;
}

TEST(Strings, Helpers) {
    EXPECT_EQ(util::split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
    EXPECT_EQ(util::fields("  a \t b\n"), (std::vector<std::string_view>{"a", "b"}));
    EXPECT_EQ(util::trim("  x \n"), "x");
    EXPECT_FALSE(util::parse_u64("+1"));
    EXPECT_FALSE(util::parse_u64("18446744073709551616"));
    EXPECT_EQ(*util::parse_i64("-3"), -3);
    EXPECT_EQ(util::go_slice({"sh", "-c", "exit 42"}), "[sh -c exit 42]");
}

} // namespace
} // namespace rk
