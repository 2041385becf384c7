// Purpose: path cleaning (as Go's filepath.Clean) and the small string helpers.
#include "sys/fs.hpp"
#include "util/strings.hpp"

#include <gtest/gtest.h>

namespace rk {
namespace {

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
