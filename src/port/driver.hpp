// Purpose: the port driver interface (parent half): what the REST API and `-p` call.
#pragma once

#include "port/spec.hpp"
#include "util/error.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rk::port {

struct PortStatus {
    int id = 0;
    PortSpec spec;
};

// A driver's table of ports (id -> spec) as list() returns it, sorted by id.
inline std::vector<PortStatus> statuses(const std::map<int, PortSpec>& ports) {
    std::vector<PortStatus> out;
    for (const auto& [id, spec] : ports)
        out.push_back({id, spec});
    return out;
}

class Driver {
  public:
    virtual ~Driver() = default;
    virtual std::string name() const = 0;
    virtual std::vector<std::string> protos() const = 0;
    virtual bool disallow_loopback_child_ip() const { return false; }
    // /v1/info's portDriver.extra (API 1.1.2): driver-specific facts, e.g.
    // sourceIPTransparentBackend.
    virtual std::map<std::string, std::string> extra() const { return {}; }
    // Validates, then starts forwarding; IDs start at 1 and are never reused.
    virtual util::Result<PortStatus> add(const PortSpec& spec) = 0;
    // Stops the listener and closes its live connections. "unknown id: N" if none.
    virtual util::Status remove(int id) = 0;
    // Sorted by id.
    virtual std::vector<PortStatus> list() const = 0;

    // The forms the API server calls, so that a driver whose changes wait on another process
    // (slirp4netns, rootlesskit-netd) never holds up the event loop: `done` runs later, on the
    // loop's thread. By default they complete at once through add/remove.
    using AddDone = std::function<void(util::Result<PortStatus>)>;
    using RemoveDone = std::function<void(util::Status)>;
    virtual void add_async(const PortSpec& spec, AddDone done) { done(add(spec)); }
    virtual void remove_async(int id, RemoveDone done) { done(remove(id)); }
};

} // namespace rk::port
