// Purpose: filesystem helpers - whole-file read/write, recursive removal, PATH lookup.
#include "sys/fs.hpp"

#include "sys/syscalls.hpp"
#include "util/fd.hpp"
#include "util/strings.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <vector>

namespace rk::sys {
using util::fail;
using util::Fd;
using util::sys_error;

util::Result<std::string> read_file(const std::string& path) {
    Fd fd(retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
    if (!fd) return fail(sys_error("cannot open " + path));
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = retry_eintr([&] { return ::read(fd.get(), buf, sizeof buf); });
        if (n < 0) return fail(sys_error("cannot read " + path));
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

static util::Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = retry_eintr([&] { return ::write(fd, data.data(), data.size()); });
        if (n < 0) return fail(sys_error("cannot write " + path));
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

util::Status write_file(const std::string& path, std::string_view data, mode_t mode,
                        bool exclusive) {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (exclusive ? O_EXCL : O_TRUNC);
    Fd fd(retry_eintr([&] { return ::open(path.c_str(), flags, mode); }));
    if (!fd) return fail(sys_error("cannot create " + path));
    if (::fchmod(fd.get(), mode) != 0) return fail(sys_error("cannot chmod " + path));
    return write_all(fd.get(), data, path);
}

util::Status write_existing(const std::string& path, std::string_view data) {
    Fd fd(retry_eintr([&] { return ::open(path.c_str(), O_WRONLY | O_CLOEXEC); }));
    if (!fd) return fail(sys_error("cannot open " + path));
    return write_all(fd.get(), data, path);
}

static bool is_executable_file(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

std::optional<std::string> find_in_path(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (name.find('/') != std::string::npos)
        return is_executable_file(name) ? std::optional(name) : std::nullopt;
    const char* path = ::getenv("PATH");
    std::string_view pv = path ? path : "/usr/local/bin:/usr/bin:/bin";
    for (auto dir : util::split(pv, ':')) {
        std::string cand = dir.empty() ? name : std::string(dir) + "/" + name;
        if (is_executable_file(cand)) return cand;
    }
    return std::nullopt;
}

std::vector<Mount> parse_mountinfo(std::string_view text) {
    std::vector<Mount> out;
    for (auto line : util::split(text, '\n')) {
        auto f = util::fields(line);
        // id parent major:minor root mountpoint options [optional...] - fstype source super
        if (f.size() < 9) continue;
        Mount m{std::string(f[4]), {}, {}};
        size_t i = 6;
        for (; i < f.size() && f[i] != "-"; ++i)
            m.optional.emplace_back(f[i]);
        if (i + 1 >= f.size()) continue; // no separator, or nothing after it
        m.fstype = std::string(f[i + 1]);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<Mount> own_mounts() {
    auto mi = read_file("/proc/self/mountinfo");
    return mi ? parse_mountinfo(*mi) : std::vector<Mount>{};
}

std::string clean_path(const std::string& path) {
    bool abs = !path.empty() && path[0] == '/';
    std::vector<std::string_view> parts;
    for (auto p : util::split(path, '/')) {
        if (p.empty() || p == ".") continue;
        if (p == "..") {
            if (!parts.empty() && parts.back() != "..")
                parts.pop_back();
            else if (!abs)
                parts.push_back(p);
            continue;
        }
        parts.push_back(p);
    }
    std::string out = abs ? "/" : "";
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += '/';
        out += parts[i];
    }
    if (out.empty()) out = ".";
    return out;
}

std::string absolute_clean(const std::string& path) {
    if (!path.empty() && path[0] == '/') return clean_path(path);
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return clean_path(path);
    return clean_path(std::string(cwd) + "/" + path);
}

std::string doc_path(const std::string& name) {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        std::string exe(buf, static_cast<size_t>(n));
        std::string prefix = exe.substr(0, exe.find_last_of('/'));
        prefix = prefix.substr(0, prefix.find_last_of('/'));
        std::string p = prefix + "/share/doc/rootlesskit-cpp/" + name;
        if (::access(p.c_str(), R_OK) == 0) return p;
    }
    return "docs/" + name + " of rootlesskit-cpp";
}

} // namespace rk::sys
