// Purpose: the rtnetlink requests we make ourselves instead of exec'ing `ip`.
//
// Each request is one RTM_* message with NLM_F_ACK; the kernel answers with an NLMSG_ERROR
// whose error field is 0 on success or -errno.
#include "sys/netlink.hpp"

#include "sys/syscalls.hpp"
#include "util/fd.hpp"

#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

namespace rk::sys::netlink {
using util::fail;
using util::sys_error;

namespace {

util::Status transact(void* req, size_t len, const std::string& what) {
    util::Fd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!sock) return fail(sys_error("cannot open a netlink socket to " + what));
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (retry_eintr([&] {
            return ::sendto(sock.get(), req, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        }) < 0)
        return fail(sys_error("netlink send failed: " + what));
    alignas(nlmsghdr) char buf[4096];
    ssize_t n = retry_eintr([&] { return ::recv(sock.get(), buf, sizeof buf, 0); });
    if (n < 0) return fail(sys_error("netlink receive failed: " + what));
    auto* h = reinterpret_cast<nlmsghdr*>(buf);
    if (!NLMSG_OK(h, static_cast<unsigned>(n)) || h->nlmsg_type != NLMSG_ERROR)
        return fail(util::plain_error("unexpected netlink answer: " + what));
    auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
    if (e->error != 0) return fail(sys_error(-e->error, "cannot " + what));
    return {};
}

} // namespace

util::Status link_set_up(int ifindex, const std::string& name_for_errors) {
    struct {
        nlmsghdr h;
        ifinfomsg i;
    } req{};
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = RTM_NEWLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.h.nlmsg_seq = 1;
    req.i.ifi_family = AF_UNSPEC;
    req.i.ifi_index = ifindex;
    req.i.ifi_flags = IFF_UP;
    req.i.ifi_change = IFF_UP;
    return transact(&req, sizeof req, "set link " + name_for_errors + " up");
}

} // namespace rk::sys::netlink
