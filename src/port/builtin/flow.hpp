// Purpose: the builtin driver's data path: a TCP Flow (two halves moving bytes with splice(2)
// through pipes from a shared PipePool) and a UdpFlow (one client address, one connected
// socket inside). Both live on the parent's event loop; errors close only that flow.
//
// Theory of Operation (Flow)
//   Two halves, client->backend and backend->client, each moving bytes with splice(2) through
//   a pipe it holds while it has bytes to move (an idle half hands a default-size pipe back to
//   the pool, so an idle flow costs two fds); a half that reads EOF drains its pipe and shuts
//   down the write side of its destination (half-close); when both halves are done, or either
//   fails, the flow closes both sockets. Out of fds for a pipe, a half copies through memory.
#pragma once

#include "util/error.hpp"
#include "util/fd.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace rk::port::builtin {

// Pipes start at the kernel's default size (64 KiB). A direction that moves bulk data (it has
// filled half its pipe) gets a kBigPipe pipe: each splice then moves up to 1 MiB, which cuts our
// CPU per byte by about a third. Big pipes count against the user's pipe quota
// (fs.pipe-user-pages-soft, 64 MiB by default, shared with every process of the user), so at
// most kBigPipeBudget bytes of them exist at once.
inline constexpr size_t kBigPipe = 1024 * 1024;
inline constexpr size_t kBigPipeBudget = 16 * 1024 * 1024;

// Errors that say the process or the system is out of fds or kernel memory: they pass when
// flows close, so the work waits and retries instead of failing a client.
bool short_of_resources(int err);

// A pipe and its capacity in bytes.
struct Pipe {
    util::Fd r, w;
    size_t capacity = 0;
};

// Drained default-size pipes of closed flows and idle directions, reused: a new connection or
// a burst of data on an idle one then costs no pipe2 call; and the budget of big pipes.
class PipePool {
  public:
    util::Result<Pipe> get();
    // Makes `p` a big pipe if the budget allows (best effort: the kernel may refuse).
    void grow(Pipe& p);
    // Takes back an empty pipe (a big one shrinks back to the default size first).
    void put(Pipe p);
    // A pipe that still holds data is closed, not reused; its budget is returned.
    void drop(Pipe& p);
    // Closes the spare pipes: for when fds run short.
    void trim() { free_.clear(); }

  private:
    // Only halves that are moving data hold a pipe, so a few spares absorb the churn.
    static constexpr size_t kMaxFree = 16;
    static constexpr size_t kDefaultPipe = 64 * 1024;
    std::vector<Pipe> free_;
    size_t big_bytes_ = 0;
};

// A forwarded TCP connection: the accepted client and, once start()ed, its socket inside.
class Flow : public std::enable_shared_from_this<Flow> {
  public:
    using Desc = boost::asio::posix::stream_descriptor;
    Flow(boost::asio::io_context& io, util::Fd client, std::shared_ptr<PipePool> pool)
        : client_(io, client.release()), backend_(io), pool_(std::move(pool)) {}
    ~Flow();

    // `backend` is non-blocking (the driver makes sure: splice(2) on a blocking socket would
    // stall the whole event loop).
    util::Status start(util::Fd backend);
    void close();
    bool closed() const { return closed_; }

  private:
    // One direction: bytes from `from` to `to` through a pipe.
    struct Half {
        Desc* from;
        Desc* to;
        Pipe pipe;
        size_t buffered = 0;
        bool eof = false;
        bool done = false;
    };
    void pump(Half& h);
    void copy_through_memory(Half& h);
    void finish(Half& h);
    void wait(Half& h, Desc::wait_type w);

    Desc client_;
    Desc backend_;
    std::shared_ptr<PipePool> pool_;
    Half up_, down_;
    bool closed_ = false;
};

// A UDP "flow": one client address and the connected socket the child made for it. Datagrams
// from the client wait (at most kMaxQueued) until that socket is there.
class UdpFlow : public std::enable_shared_from_this<UdpFlow> {
  public:
    UdpFlow(boost::asio::io_context& io, int listener, const sockaddr_storage& client,
            socklen_t len)
        : backend_(io), listener_(listener), client_(client), client_len_(len) {
        touch();
    }

    void start(util::Fd backend);
    void send(const char* data, size_t n);
    void close();
    bool closed() const { return closed_; }
    std::chrono::steady_clock::time_point last_active() const { return last_; }

  private:
    using Desc = boost::asio::posix::stream_descriptor;
    static constexpr size_t kMaxQueued = 64;
    void touch() { last_ = std::chrono::steady_clock::now(); }
    void read_backend();

    Desc backend_;
    int listener_;
    sockaddr_storage client_;
    socklen_t client_len_;
    std::vector<std::string> queued_;
    bool ready_ = false;
    bool closed_ = false;
    std::chrono::steady_clock::time_point last_;
};

} // namespace rk::port::builtin
