// Purpose: tmpfs+symlink copy-up of a directory D.
//
// Theory of Operation
//   1. list D's entries (name, and the link target of symlinks) through an fd opened on D;
//   2. take a detached recursive clone of the mount tree at D (open_tree(OPEN_TREE_CLONE)) -
//      unlike upstream we need no scratch directory under /tmp, so there is nothing to race;
//   3. mount an empty tmpfs on D, with D's original mode;
//   4. create the hidden directory D/.ro<random> and move the detached clone onto it;
//   5. for each entry E: a symlink D/E pointing where E pointed (symlinks), or to .ro<random>/E.
//   D is then writable (new files live in the tmpfs, only in our mount namespace), and every
//   original file stays reachable, read-through, under its old name.
#include "child/mounts.hpp"
#include "sys/syscalls.hpp"
#include "util/fd.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <vector>

namespace rk::child {
using util::fail;
using util::Fd;
using util::sys_error;

namespace {

struct Entry {
    std::string name;
    bool is_symlink = false;
    std::string link_target;
};

util::Result<std::vector<Entry>> list_dir(int dfd, const std::string& dir) {
    int dup_fd = ::fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return fail(sys_error("dup"));
    DIR* d = ::fdopendir(dup_fd);
    if (!d) {
        ::close(dup_fd);
        return fail(sys_error("cannot list " + dir));
    }
    util::Defer close_dir([&] { ::closedir(d); });
    std::vector<Entry> out;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        Entry en{n, false, {}};
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st {};
            if (::fstatat(dfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                type = DT_LNK;
        }
        if (type == DT_LNK) {
            char buf[4096];
            ssize_t len = ::readlinkat(dfd, n.c_str(), buf, sizeof buf);
            if (len < 0) return fail(sys_error("cannot read symlink " + dir + "/" + n));
            en.is_symlink = true;
            en.link_target.assign(buf, static_cast<size_t>(len));
        }
        out.push_back(std::move(en));
    }
    return out;
}

std::string random_suffix() {
    uint32_t r = 0;
    if (::getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<uint32_t>(::getpid());
    return std::to_string(r);
}

} // namespace

util::Status copy_up(const std::string& dir) {
    auto ctx = [&](const std::string& what) { return "failed to copy up " + dir + ": " + what; };
    Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) {
        auto e = sys_error(ctx("cannot open it"));
        e.hint = e.err == ENOENT || e.err == ENOTDIR
                     ? "--copy-up takes existing directories, e.g. --copy-up=/etc"
                     : "the user must be able to read the directory";
        return fail(e);
    }
    struct stat st {};
    if (::fstat(dfd.get(), &st) != 0) return fail(sys_error(ctx("cannot stat it")));
    auto entries = RK_TRY_CTX(list_dir(dfd.get(), dir), "failed to copy up " + dir);
    dfd.reset();

    Fd tree(
        sys::open_tree(AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (!tree) {
        auto e = sys_error(ctx("cannot clone its mount tree (open_tree)"));
        if (e.err == ENOSYS) e.hint = "copy-up needs Linux 5.2 or later";
        return fail(e);
    }
    std::string opts = fmt::format("mode={:o}", st.st_mode & 07777);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) != 0)
        return fail(sys_error(ctx("cannot mount a tmpfs on it")));

    std::string ro = ".ro" + random_suffix();
    std::string ro_path = dir + "/" + ro;
    if (::mkdir(ro_path.c_str(), st.st_mode & 07777) != 0)
        return fail(sys_error(ctx("cannot create " + ro_path)));
    if (sys::move_mount(tree.get(), "", AT_FDCWD, ro_path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return fail(sys_error(ctx("cannot attach the original content at " + ro_path)));

    Fd newdir(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!newdir) return fail(sys_error(ctx("cannot open the tmpfs")));
    for (const auto& e : entries) {
        if (e.name == ro) continue;
        std::string target = e.is_symlink ? e.link_target : ro + "/" + e.name;
        if (::symlinkat(target.c_str(), newdir.get(), e.name.c_str()) != 0)
            return fail(sys_error(ctx("cannot create the symlink " + dir + "/" + e.name)));
    }
    return {};
}

} // namespace rk::child
