// Purpose: framing of the parent <-> child start-up pipe.
#include "proto/channel.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace rk::proto {
namespace {

TEST(Channel, RoundTrip) {
    for (const auto& m : {Message{MsgKind::IdmapDone, ""}, Message{MsgKind::NetworkReady, "x=1"},
                          Message{MsgKind::ChildReady, std::string(kMaxPayload, 'a')}}) {
        std::string enc = encode(m);
        size_t used = 0;
        auto d = decode(enc, used);
        ASSERT_TRUE(d && *d);
        EXPECT_EQ(used, enc.size());
        EXPECT_EQ((*d)->kind, m.kind);
        EXPECT_EQ((*d)->payload, m.payload);
    }
}

TEST(Channel, IncompleteAndBad) {
    std::string enc = encode({MsgKind::UserNSReady, "abc"});
    size_t used = 9;
    for (size_t n = 0; n < enc.size(); ++n) {
        auto d = decode(std::string_view(enc).substr(0, n), used);
        ASSERT_TRUE(d);
        EXPECT_FALSE(*d);
        EXPECT_EQ(used, 0u);
    }
    EXPECT_FALSE(decode(std::string("\xff\xff\xff\xff\x01", 5), used));
    EXPECT_FALSE(decode(std::string("\0\0\0\0\x09", 5), used));
}

TEST(Channel, OverAPipe) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_TRUE(send(p[1], {MsgKind::IdmapDone, ""}));
    ASSERT_TRUE(send(p[1], {MsgKind::NetworkReady, "payload"}));
    close(p[1]);
    EXPECT_TRUE(expect(p[0], MsgKind::IdmapDone));
    auto wrong = expect(p[0], MsgKind::ChildReady);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().context, "expected ChildReady, got NetworkReady");
    auto eof = receive(p[0]);
    ASSERT_FALSE(eof);
    EXPECT_EQ(eof.error().err, EPIPE);
    close(p[0]);
}

} // namespace
} // namespace rk::proto
