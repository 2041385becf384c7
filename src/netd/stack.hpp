// Purpose: libslirp driven by our own poll loop: frames from the tap device go into libslirp,
// frames from libslirp go to the tap; libslirp's sockets, timers and the port API socket are
// polled in one thread. Runs inside the sandbox (sandbox.hpp) once constructed.
#pragma once

#include "netd/api.hpp"
#include "netd/config.hpp"
#include "netd/rewrite.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#include <cstdint>
#include <memory>
#include <poll.h>
#include <vector>

struct Slirp;

namespace rk::netd {

class Stack final : public Forwarder {
  public:
    // Creates the libslirp instance for `cfg` on the tap fd; the API socket (if any) must be
    // a listening unix socket. Everything that opens files or binds happens here, before the
    // sandbox.
    static util::Result<std::unique_ptr<Stack>> create(const Config& cfg, util::Fd tap,
                                                       util::Fd api);
    ~Stack() override;

    // Runs until the tap device goes away (the namespace ended); returns the exit code.
    int run();

    int add(const Forward& f) override;
    int remove(const Forward& f) override;

    // libslirp callbacks (static trampolines in stack.cpp).
    struct Timer {
        int id;
        void* cb_opaque;
        int64_t expire_ms = -1;
    };
    ssize_t send_frame(const void* buf, size_t len);
    int add_poll(int fd, int events);
    int revents(int idx) const;
    std::vector<std::unique_ptr<Timer>> timers;

  private:
    Stack(util::Fd tap, util::Fd api)
        : tap_(std::move(tap)), api_sock_(std::move(api)), api_(*this) {}
    // A client of the port API socket: one request (read until EOF), one reply. Served a
    // piece at a time as poll says the socket is ready, so no client can hold up the packet
    // loop; each has kApiDeadline to finish.
    struct ApiClient {
        util::Fd fd;
        std::string req;
        std::string reply;
        size_t sent = 0;
        bool replying = false;
        int64_t deadline_ms = 0;
    };
    static constexpr int64_t kApiDeadlineMs = 2000;
    static constexpr size_t kMaxApiClients = 8;
    static constexpr size_t kMaxApiRequest = 65536;

    void read_tap();
    void accept_api();
    // Moves one client on by what `revents` allows; false once it is done (or failed).
    bool serve_api(ApiClient& c, short revents);
    int64_t run_timers(); // returns ms until the next timer, or -1

    util::Fd tap_;
    util::Fd api_sock_;
    Api api_;
    Slirp* slirp_ = nullptr;
    DnsAlias dns_;
    std::vector<ApiClient> api_clients_;
    std::vector<pollfd> pfds_;
    std::vector<uint8_t> buf_;
};

} // namespace rk::netd
