// Purpose: the project's one error idiom - Result<T> carrying an errno and a context string.
#pragma once

#include <string>
#include <tl/expected.hpp>

namespace rk::util {

// An error a user can act on: what failed (context, outermost first once wrapped), the errno
// if a syscall was involved (0 otherwise), and optionally the fix.
struct Error {
    int err = 0;
    std::string context;
    std::string hint; // "how to fix it"; printed after the message when not empty

    // Prefixes the context with the caller's view ("failed to X: <inner>").
    Error wrap(const std::string& outer) const&;
    // The one-line text shown to users: "<context>[: <strerror>][ (<hint>)]".
    std::string message() const;
};

template <typename T> using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

// Builds an error from errno (captured at call time) and a context string.
Error sys_error(const std::string& context);
Error sys_error(int err, const std::string& context);
// Builds an error without errno.
Error plain_error(const std::string& context, const std::string& hint = {});

inline tl::unexpected<Error> fail(Error e) {
    return tl::unexpected<Error>(std::move(e));
}

namespace detail {
template <typename T> T unwrap(tl::expected<T, Error>&& r) {
    return std::move(*r);
}
inline void unwrap(tl::expected<void, Error>&&) {}
} // namespace detail

} // namespace rk::util

// Propagates the error of a Result/Status expression, or yields its value.
#define RK_TRY(expr)                                                                               \
    ({                                                                                             \
        auto&& rk_try_result_ = (expr);                                                            \
        if (!rk_try_result_) return ::tl::unexpected(std::move(rk_try_result_).error());           \
        ::rk::util::detail::unwrap(std::move(rk_try_result_));                                     \
    })

// Like RK_TRY but wraps the error with extra context first.
#define RK_TRY_CTX(expr, ctx)                                                                      \
    ({                                                                                             \
        auto&& rk_try_result_ = (expr);                                                            \
        if (!rk_try_result_) return ::tl::unexpected(rk_try_result_.error().wrap(ctx));            \
        ::rk::util::detail::unwrap(std::move(rk_try_result_));                                     \
    })
