// Purpose: the port drivers by name (see registry.hpp).
#include "port/registry.hpp"

#include "port/builtin/dial.hpp"
#include "port/builtin/driver.hpp"
#include "port/pesto/driver.hpp"
#include "port/slirp4netns/driver.hpp"

#include <string_view>

namespace rk::port {
using util::fail;

namespace {

// The builtin driver's child half: the dialer, and source-IP routing when asked for.
class BuiltinChildHalf final : public ChildHalf {
  public:
    BuiltinChildHalf(int dial_fd, bool source_ip) : fd_(dial_fd), source_ip_(source_ip) {}
    std::string prepare() override {
        if (source_ip_) routing_ = builtin::prepare_source_routing();
        return routing_.any() ? builtin::kSourceIpBackend : "";
    }
    void serve() override { builtin::serve_dial_requests(fd_, routing_); }

  private:
    int fd_;
    bool source_ip_;
    builtin::SourceRouting routing_;
};

using ParentFactory = util::Result<std::unique_ptr<Driver>> (*)(ParentContext&);
using ChildFactory = std::unique_ptr<ChildHalf> (*)(const proto::Options&, int);
using Check = util::Status (*)(const proto::Options&);

struct Entry {
    std::string_view name;
    ParentFactory parent; // null: no parent half (none, implicit)
    ChildFactory child;   // null: no child half
    Check check;          // null: nothing to check
    bool dial_channel;
};

const Entry kDrivers[] = {
    {"none", nullptr, nullptr, nullptr, false},
    {"implicit", nullptr, nullptr, nullptr, false}, // pasta forwards on its own
    {"builtin",
     [](ParentContext& c) -> util::Result<std::unique_ptr<Driver>> {
         return builtin::make_driver(c.io, std::move(c.dial),
                                     c.keep_source_ip ? builtin::SourceIp::Preserve
                                                      : builtin::SourceIp::Loopback);
     },
     [](const proto::Options& o, int fd) -> std::unique_ptr<ChildHalf> {
         return std::make_unique<BuiltinChildHalf>(fd, o.source_ip_transparent);
     },
     nullptr, true},
    // slirp4netns' hostfwd, and the same JSON protocol on rootlesskit-netd's socket
    {"slirp4netns",
     [](ParentContext& c) -> util::Result<std::unique_ptr<Driver>> {
         return slirp4netns::make_driver(&c.io, c.helper_socket, c.child_ip, "slirp4netns",
                                         {c.helper_name, c.helper_pid});
     },
     nullptr, nullptr, false},
    {"gvisor-tap-vsock",
     [](ParentContext& c) -> util::Result<std::unique_ptr<Driver>> {
         return slirp4netns::make_driver(&c.io, c.helper_socket, c.child_ip, "gvisor-tap-vsock",
                                         {c.helper_name, c.helper_pid});
     },
     nullptr, nullptr, false},
    {"pesto",
     [](ParentContext& c) -> util::Result<std::unique_ptr<Driver>> {
         auto pesto = RK_TRY(pesto::find_pesto(c.opts.pasta_binary));
         return pesto::make_driver(&c.io, {pesto, c.helper_socket, c.child_ip, c.opts.ipv6});
     },
     nullptr,
     [](const proto::Options& o) -> util::Status {
         RK_TRY(pesto::find_pesto(o.pasta_binary));
         return {};
     },
     false},
};

const Entry* find(const std::string& name) {
    for (const auto& e : kDrivers)
        if (e.name == name) return &e;
    return nullptr;
}

} // namespace

util::Status check(const proto::Options& opts) {
    const Entry* e = find(opts.port_driver);
    if (!e) return fail(util::plain_error("unknown port driver: " + opts.port_driver));
    return e->check ? e->check(opts) : util::Status{};
}

util::Result<std::unique_ptr<Driver>> make_parent_half(ParentContext ctx) {
    const Entry* e = find(ctx.opts.port_driver);
    if (!e) return fail(util::plain_error("unknown port driver: " + ctx.opts.port_driver));
    if (!e->parent) return std::unique_ptr<Driver>();
    return e->parent(ctx);
}

bool needs_dial_channel(const proto::Options& opts) {
    const Entry* e = find(opts.port_driver);
    return e && e->dial_channel;
}

std::unique_ptr<ChildHalf> make_child_half(const proto::Options& opts, int dial_fd) {
    const Entry* e = find(opts.port_driver);
    if (!e || !e->child) return nullptr;
    return e->child(opts, dial_fd);
}

} // namespace rk::port
