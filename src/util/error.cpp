// Purpose: construction and rendering of rk::util::Error.
#include "util/error.hpp"

#include <cerrno>
#include <cstring>

namespace rk::util {

Error Error::wrap(const std::string& outer) const& {
    Error e = *this;
    e.context = outer + ": " + context;
    return e;
}

std::string Error::message() const {
    std::string m = context;
    if (err != 0) {
        m += ": ";
        m += std::strerror(err);
    }
    if (!hint.empty()) {
        m += " (";
        m += hint;
        m += ")";
    }
    return m;
}

Error sys_error(const std::string& context) {
    return Error{errno, context, {}};
}
Error sys_error(int err, const std::string& context) {
    return Error{err, context, {}};
}
Error plain_error(const std::string& context, const std::string& hint) {
    return Error{0, context, hint};
}

} // namespace rk::util
