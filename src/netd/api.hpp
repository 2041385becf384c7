// Purpose: the embedded network's port-forwarding API: slirp4netns' JSON protocol (one request
// per connection: add_hostfwd, remove_hostfwd, list_hostfwd), so the parent's slirp4netns
// port driver drives it unchanged. Requests come from the parent only (a socket in the
// user's private state dir), but are parsed defensively and fuzzed.
#pragma once

#include <netinet/in.h>
#include <string>
#include <vector>

namespace rk::netd {

struct Forward {
    int id = 0;
    bool udp = false;
    in_addr host{};
    int host_port = 0;
    in_addr guest{};
    int guest_port = 0;
};

// What the API does with a request: libslirp in the real process.
class Forwarder {
  public:
    virtual ~Forwarder() = default;
    // 0 or a negative errno-like value.
    virtual int add(const Forward& f) = 0;
    virtual int remove(const Forward& f) = 0;
};

class Api {
  public:
    explicit Api(Forwarder& fw) : fw_(fw) {}
    // One request in, one reply out (JSON text).
    std::string handle(const std::string& request);

  private:
    Forwarder& fw_;
    std::vector<Forward> forwards_;
    int next_id_ = 1;
};

} // namespace rk::netd
