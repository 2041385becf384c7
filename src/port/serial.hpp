// Purpose: changes to a port driver that wait on another process (slirp4netns, netd, pesto),
// run one at a time in arrival order on the event loop: each is checked against the ports as
// the changes before it left them, and the helper sees one request at a time.
#pragma once

#include <deque>
#include <functional>

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

} // namespace rk::port
