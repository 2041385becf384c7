// Purpose: the diagnosis of a failed user-namespace creation, for each sysctl that can cause it.
#include "parent/preflight.hpp"

#include <gtest/gtest.h>

namespace rk::parent {
namespace {

TEST(Diagnose, MaxUserNamespacesZero) {
    auto e = diagnose_userns_failure(ENOSPC, {0, std::nullopt, std::nullopt});
    EXPECT_NE(e.hint.find("user.max_user_namespaces=28633"), std::string::npos) << e.hint;
}

TEST(Diagnose, DebianSysctl) {
    auto e = diagnose_userns_failure(EPERM, {15000, 0, std::nullopt});
    EXPECT_NE(e.hint.find("kernel.unprivileged_userns_clone=1"), std::string::npos) << e.hint;
}

TEST(Diagnose, AppArmor) {
    auto e = diagnose_userns_failure(EACCES, {15000, std::nullopt, 1});
    EXPECT_NE(e.hint.find("apparmor_restrict_unprivileged_userns"), std::string::npos) << e.hint;
    EXPECT_NE(e.hint.find("userns,"), std::string::npos) << e.hint;
    EXPECT_TRUE(apparmor_hint({15000, std::nullopt, 0}).empty());
}

TEST(Diagnose, LimitReachedAndUnknown) {
    EXPECT_NE(diagnose_userns_failure(ENOSPC, {10, 1, 0}).hint.find("limit"), std::string::npos);
    EXPECT_NE(diagnose_userns_failure(EPERM, {10, 1, 0}).hint.find("seccomp"), std::string::npos);
    EXPECT_EQ(diagnose_userns_failure(EPERM, {10, 1, 0}).context,
              "failed to create the user namespace");
}

} // namespace
} // namespace rk::parent
