// Purpose: the port drivers by name (--port-driver): their start-up checks, their parent
// halves (what the API and -p call) and their child halves (what runs inside the namespace),
// so that neither the parent nor the child names a driver.
#pragma once

#include "port/driver.hpp"
#include "proto/options.hpp"
#include "util/fd.hpp"

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <sys/types.h>

namespace rk::port {

// Before anything is created (start-up phase 1): what the driver needs from this machine, so
// that a missing piece fails with one line and nothing left behind.
util::Status check(const proto::Options& opts);

// What a parent half may need, filled in by the parent once the network is up.
struct ParentContext {
    boost::asio::io_context& io;
    const proto::Options& opts;
    std::string child_ip;        // the namespace's address on the network driver ("" if none)
    std::string helper_name;     // the network helper, for messages
    pid_t helper_pid = -1;       // and its pid (a stopped helper is reported at once)
    std::string helper_socket;   // where the helper takes port changes ("" if none)
    util::Fd dial;               // builtin: the parent's end of the dial channel
    bool keep_source_ip = false; // builtin: the child set up source-IP routing
};

// The parent half of --port-driver; null for none and implicit (no ports through the API).
util::Result<std::unique_ptr<Driver>> make_parent_half(ParentContext ctx);

// Whether the driver's halves talk over a dial channel (a socketpair made before the clone).
bool needs_dial_channel(const proto::Options& opts);

// The child half: runs in the namespace's network namespace.
class ChildHalf {
  public:
    virtual ~ChildHalf() = default;
    // Before ChildReady; returns ChildReady's payload: what the parent may report in
    // /v1/info (for builtin, the source-IP mechanism in force), "" for nothing.
    virtual std::string prepare() = 0;
    // On a thread of its own, for as long as the child lives.
    virtual void serve() = 0;
};

// Null when the driver has no child half. `dial_fd`: the child's end of the dial channel.
std::unique_ptr<ChildHalf> make_child_half(const proto::Options& opts, int dial_fd);

} // namespace rk::port
