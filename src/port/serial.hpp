// Purpose: changes to a port driver that wait on another process (slirp4netns, netd, pesto),
// run one at a time in arrival order on the event loop: each is checked against the ports as
// the changes before it left them, and the helper sees one request at a time. Serial is the
// queue; SerialDriver the base of such drivers, which write each change once, as steps on an
// event loop, and get both forms of the Driver interface from it.
#pragma once

#include "port/driver.hpp"

#include <boost/asio/io_context.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace rk::port {

class Serial {
  public:
    // Runs `change` now if none is running, else once those queued before it are done. A
    // change calls done() exactly once, when it is finished (it may have answered its caller
    // long before).
    void run(std::function<void()> change) {
        queue_.push_back(std::move(change));
        if (!busy_) next();
    }
    void done() { next(); }

  private:
    void next() {
        busy_ = !queue_.empty();
        if (!busy_) return;
        auto change = std::move(queue_.front());
        queue_.pop_front();
        change();
    }
    std::deque<std::function<void()>> queue_;
    bool busy_ = false;
};

// A driver whose add and remove are asynchronous steps on an event loop (start_add,
// start_remove: each calls its `done` exactly once, on that loop's thread). The API's forms
// (add_async/remove_async) run them on the daemon's loop, one at a time through Serial; the
// blocking forms (add/remove: the -p ports at start-up, and every change when there is no
// loop) run one on a private loop until it finishes - one implementation of each change.
class SerialDriver : public Driver {
  public:
    // `io`: the event loop of the API; null if there is none (every change then blocks).
    explicit SerialDriver(boost::asio::io_context* io) : io_(io) {}

    util::Result<PortStatus> add(const PortSpec& spec) final {
        return blocking<PortStatus>([&](auto& io, auto done) { start_add(io, spec, done); });
    }
    util::Status remove(int id) final {
        return blocking<void>([&](auto& io, auto done) { start_remove(io, id, done); });
    }
    void add_async(const PortSpec& spec, AddDone done) final {
        if (!io_) return done(add(spec));
        serial_.run([this, spec, done = std::move(done)] {
            start_add(*io_, spec, [this, done](util::Result<PortStatus> r) {
                done(std::move(r));
                serial_.done();
            });
        });
    }
    void remove_async(int id, RemoveDone done) final {
        if (!io_) return done(remove(id));
        serial_.run([this, id, done = std::move(done)] {
            start_remove(*io_, id, [this, done](util::Status r) {
                done(std::move(r));
                serial_.done();
            });
        });
    }

  protected:
    virtual void start_add(boost::asio::io_context& io, const PortSpec& spec, AddDone done) = 0;
    virtual void start_remove(boost::asio::io_context& io, int id, RemoveDone done) = 0;

    // `f`, made to do nothing once this driver is destroyed: for the completions of work that
    // may outlive it (a helper's answer arriving as the event loop winds down).
    template <typename F> auto while_alive(F f) const {
        return [alive = std::weak_ptr<char>(alive_), f = std::move(f)](auto&&... args) mutable {
            if (!alive.expired()) f(std::forward<decltype(args)>(args)...);
        };
    }

  private:
    template <typename T, typename F> util::Result<T> blocking(F start) {
        boost::asio::io_context io(1);
        std::optional<util::Result<T>> out;
        start(io, [&out](util::Result<T> r) { out = std::move(r); });
        io.run();
        return out ? std::move(*out)
                   : util::fail(util::plain_error(name() + ": the change gave no answer"));
    }

    boost::asio::io_context* io_;
    Serial serial_;
    std::shared_ptr<char> alive_ = std::make_shared<char>();
};

} // namespace rk::port
