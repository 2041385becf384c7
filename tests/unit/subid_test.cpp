// Purpose: /etc/subuid and getsubids output parsing (spec 5.4, 8.2).
#include "parent/idmap.hpp"
#include "parent/subid.hpp"

#include <gtest/gtest.h>

namespace rk::parent {
namespace {

const User kPenguin{1001, 1001, "penguin"};

TEST(SubidFile, MatchesNameAndUidInFileOrder) {
    auto r = parse_subid_file("# comment\n\n"
                              "root:1:2\n"
                              "penguin:100000:65536\n"
                              "  \n"
                              "1001:200000:65536\n"
                              "penguin2:300000:65536\n",
                              kPenguin, "/etc/subuid");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, (std::vector<SubidRange>{{100000, 65536}, {200000, 65536}}));
}

TEST(SubidFile, NoMatchIsEmpty) {
    auto r = parse_subid_file("other:100000:65536\n", kPenguin, "/etc/subuid");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
}

TEST(SubidFile, MalformedLinesNameFileAndLine) {
    for (const char* bad : {"penguin:100000\n", "penguin:x:1\n", "penguin:1:2:3\n", ":1:2\n",
                            "penguin:-1:2\n", "penguin 100000 65536\n"}) {
        auto r = parse_subid_file(std::string("# ok\n") + bad, kPenguin, "/etc/subuid");
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().context.find("/etc/subuid line 2"), std::string::npos)
            << r.error().context;
    }
}

TEST(SubidFile, RejectsEmptyAndHugeRanges) {
    EXPECT_FALSE(parse_subid_file("penguin:100000:0\n", kPenguin, "f"));
    EXPECT_FALSE(parse_subid_file("penguin:4294967295:2\n", kPenguin, "f"));
    EXPECT_TRUE(parse_subid_file("penguin:4294967295:1\n", kPenguin, "f"));
}

TEST(Getsubids, SpecExample) {
    auto r = parse_getsubids_output("# foo\n0: foo 100000 655360\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->ranges, (std::vector<SubidRange>{{100000, 655360}}));
    EXPECT_TRUE(r->warnings.empty());
}

TEST(Getsubids, ExtraFieldsWarn) {
    auto r = parse_getsubids_output("0: foo 100000 65536 extra\n1: a:b 1 2\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->ranges.size(), 2u);
    EXPECT_EQ(r->warnings.size(), 2u);
}

TEST(Getsubids, BadLines) {
    EXPECT_FALSE(parse_getsubids_output("0: foo 100000\n"));
    EXPECT_FALSE(parse_getsubids_output("no colon here\n"));
    EXPECT_FALSE(parse_getsubids_output("0: foo x 1\n"));
}

TEST(Subid, MergeDropsExactDuplicates) {
    std::vector<SubidRange> a{{1, 2}};
    merge_unique(a, {{1, 2}, {3, 4}, {1, 3}});
    EXPECT_EQ(a, (std::vector<SubidRange>{{1, 2}, {3, 4}, {1, 3}}));
}

TEST(Subid, FreeStartIsPastEveryonesRangesInBothFiles) {
    // nothing yet: 100000 rounded up to a multiple of 65536
    EXPECT_EQ(free_subid_start("", "", {1000}), 131072u);
    // past anyone's line, in either file; comments and malformed lines do not count
    EXPECT_EQ(
        free_subid_start("alice:100000:65536\n# x:9000000:1\nbad\n", "bob:300000:65536\n", {1000}),
        393216u);
    // and clear of the user's own ids (newuidmap refuses a range that holds them)
    EXPECT_EQ(free_subid_start("", "", {131072}), 196608u);
    EXPECT_EQ(free_subid_start("", "", {200000, 140000}), 262144u);
    // a range is never counted past 2^32
    EXPECT_EQ(free_subid_start("x:99999999999:5\n", "", {1000}), 131072u);
}

TEST(Subid, EveryHintSuggestsAFreeRange) {
    // the own-uid fix names the free start it is given, not a fixed one
    auto r = idmap_args(IdKind::Uid, 300100, {{300000, 65536}}, "rk-overlap", 393216);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().hint.find("rk-overlap:393216:65536"), std::string::npos) << r.error().hint;
    EXPECT_EQ(r.error().hint.find("100000"), std::string::npos) << r.error().hint;
}

} // namespace
} // namespace rk::parent
