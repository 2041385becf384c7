// Purpose: ID map construction (spec 5.4, TestNewugidmapArgsFromSubIDRanges).
#include "parent/idmap.hpp"

#include <gtest/gtest.h>

namespace rk::parent {
namespace {

using Strs = std::vector<std::string>;

TEST(Idmap, PacksRangesFromOne) {
    auto r = idmap_args(IdKind::Uid, 1001, {{100000, 65536}, {200000, 65536}}, "penguin");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, (Strs{"0", "1001", "1", "1", "100000", "65536", "65537", "200000", "65536"}));
}

TEST(Idmap, GidsLikewise) {
    auto r = idmap_args(IdKind::Gid, 1002, {{231072, 65536}}, "penguin");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (Strs{"0", "1002", "1", "1", "231072", "65536"}));
}

TEST(Idmap, RangeContainingOwnIdIsRejectedWithFix) {
    auto r = idmap_args(IdKind::Uid, 100500, {{100000, 65536}}, "penguin");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().context.find("contains the user's own uid 100500"), std::string::npos);
    EXPECT_NE(r.error().hint.find("/etc/subuid"), std::string::npos);
    // Boundaries: start and last id of the range.
    EXPECT_FALSE(idmap_args(IdKind::Uid, 100000, {{100000, 10}}, "p"));
    EXPECT_FALSE(idmap_args(IdKind::Uid, 100009, {{100000, 10}}, "p"));
    EXPECT_TRUE(idmap_args(IdKind::Uid, 100010, {{100000, 10}}, "p"));
    EXPECT_TRUE(idmap_args(IdKind::Uid, 99999, {{100000, 10}}, "p"));
}

TEST(Idmap, OverlappingRangesRejected) {
    auto r = idmap_args(IdKind::Gid, 1000, {{100000, 65536}, {150000, 65536}}, "p");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().context.find("overlap"), std::string::npos);
}

TEST(Idmap, TooManyIds) {
    EXPECT_FALSE(idmap_args(IdKind::Uid, 1000, {{100000, 4294000000}, {5000, 100000}}, "p"));
}

} // namespace
} // namespace rk::parent
