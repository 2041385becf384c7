// Purpose: which existing directories may serve as a state directory (parent/statedir.hpp).
#include "parent/statedir.hpp"

#include <gtest/gtest.h>

namespace rk::parent {
namespace {

struct stat dir(uid_t uid, mode_t mode) {
    struct stat st {};
    st.st_mode = S_IFDIR | mode;
    st.st_uid = uid;
    return st;
}

TEST(StateDir, ExistingDirectoryRules) {
    const std::vector<std::string> empty, state{"lock", "child_pid", "api.sock"},
        user{"notes.txt", "photos"}, mixed{"lock", "notes.txt"};
    EXPECT_TRUE(check_existing_state_dir("/d", dir(1000, 0700), 1000, empty));
    EXPECT_TRUE(check_existing_state_dir("/d", dir(1000, 0755), 1000, empty));
    EXPECT_TRUE(check_existing_state_dir("/d", dir(1000, 0700), 1000, state));
    EXPECT_TRUE(check_existing_state_dir("/d", dir(1000, 0700), 1000, mixed));
    auto e = check_existing_state_dir("/home/u/p", dir(1000, 0700), 1000, user);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("refusing --state-dir=/home/u/p: it is not empty and holds "
                                       "no RootlessKit state (no lock file; first entry "
                                       "\"notes.txt\")"),
              std::string::npos)
        << e.error().message();
    e = check_existing_state_dir("/d", dir(1001, 0700), 1000, empty);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("it belongs to uid 1001, not to you (uid 1000)"),
              std::string::npos);
    e = check_existing_state_dir("/d", dir(1000, 0770), 1000, empty);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("others can write to it (mode 0770)"), std::string::npos);
    EXPECT_FALSE(check_existing_state_dir("/d", dir(1000, 01777), 1000, empty));
    struct stat file {};
    file.st_mode = S_IFREG | 0600;
    file.st_uid = 1000;
    EXPECT_FALSE(check_existing_state_dir("/d", file, 1000, empty));
}

TEST(StateDir, StateNames) {
    for (const char* n : {"lock", "child_pid", "api.sock", "netns", "resolv.conf", "hosts",
                          ".s4nn.sock", ".bp.sock", ".bp-ready.pipe"})
        EXPECT_TRUE(is_state_name(n)) << n;
    for (const char* n : {"", ".", "..", "notes.txt", "lock.bak", "api.sock2", "LOCK"})
        EXPECT_FALSE(is_state_name(n)) << n;
}

} // namespace
} // namespace rk::parent
