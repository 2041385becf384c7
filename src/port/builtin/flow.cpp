// Purpose: the builtin driver's data path (see flow.hpp).
#include "port/builtin/flow.hpp"

#include <cerrno>
#include <fcntl.h>
#include <utility>

namespace rk::port::builtin {
using util::fail;
using util::Fd;

bool short_of_resources(int err) {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

util::Result<Pipe> PipePool::get() {
    if (!free_.empty()) {
        Pipe p = std::move(free_.back());
        free_.pop_back();
        return p;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return fail(util::sys_error("pipe2"));
    Pipe p{Fd(fds[0]), Fd(fds[1]), 0};
    // Over the user's pipe quota the kernel hands out smaller pipes: ask, do not assume.
    int size = ::fcntl(fds[1], F_GETPIPE_SZ);
    p.capacity = size > 0 ? static_cast<size_t>(size) : 4096;
    return p;
}

// Makes `p` a big pipe if the budget allows (best effort: the kernel may refuse).
void PipePool::grow(Pipe& p) {
    if (p.capacity >= kBigPipe || big_bytes_ + kBigPipe > kBigPipeBudget) return;
    int size = ::fcntl(p.w.get(), F_SETPIPE_SZ, static_cast<int>(kBigPipe));
    if (size <= 0) return;
    big_bytes_ += static_cast<size_t>(size);
    p.capacity = static_cast<size_t>(size);
}

// Takes back an empty pipe (a big one shrinks back to the default size first).
void PipePool::put(Pipe p) {
    if (!p.r || !p.w) return;
    if (p.capacity >= kBigPipe) {
        big_bytes_ -= p.capacity;
        int size = ::fcntl(p.w.get(), F_SETPIPE_SZ, static_cast<int>(kDefaultPipe));
        if (size <= 0) return; // closing it frees it
        p.capacity = static_cast<size_t>(size);
    }
    if (free_.size() < kMaxFree) free_.push_back(std::move(p));
}

// A pipe that still holds data is closed, not reused; its budget is returned.
void PipePool::drop(Pipe& p) {
    if (p.capacity >= kBigPipe) big_bytes_ -= p.capacity;
    p = {};
}

Flow::~Flow() {
    for (Half* h : {&up_, &down_}) {
        if (h->buffered == 0)
            pool_->put(std::move(h->pipe));
        else
            pool_->drop(h->pipe);
    }
}

util::Status Flow::start(Fd backend) {
    boost::system::error_code ec;
    backend_.assign(backend.get(), ec);
    if (ec) return fail(util::sys_error(ec.value(), "watching a connection"));
    (void)backend.release();
    up_.from = &client_;
    up_.to = &backend_;
    down_.from = &backend_;
    down_.to = &client_;
    pump(up_);
    pump(down_);
    return {};
}

void Flow::close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    client_.close(ec);
    backend_.close(ec);
}

void Flow::pump(Half& h) {
    if (closed_ || h.done) return;
    if (!h.pipe.r) {
        auto p = pool_->get();
        if (!p && (p.error().err == EMFILE || p.error().err == ENFILE))
            return copy_through_memory(h);
        if (!p) return close();
        h.pipe = std::move(*p);
    }
    for (;;) {
        // Fill the pipe before writing: a reply and the FIN its sender closed with are then
        // seen together, and the reply leaves with our FIN in one segment (SPLICE_F_MORE
        // holds it back until shutdown() pushes both) instead of a segment and a bare FIN.
        bool drained = false; // the source had nothing more to give
        while (!h.eof && h.buffered < h.pipe.capacity) {
            ssize_t n = ::splice(h.from->native_handle(), nullptr, h.pipe.w.get(), nullptr,
                                 h.pipe.capacity - h.buffered, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                h.buffered += static_cast<size_t>(n);
                if (h.buffered * 2 >= h.pipe.capacity) pool_->grow(h.pipe);
            } else if (n == 0) {
                h.eof = true;
            } else if (errno == EAGAIN) {
                drained = true;
                break;
            } else if (errno != EINTR) {
                return close();
            }
        }
        if (h.buffered > 0) {
            unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (h.eof ? SPLICE_F_MORE : 0);
            ssize_t m = ::splice(h.pipe.r.get(), nullptr, h.to->native_handle(), nullptr,
                                 h.buffered, flags);
            if (m > 0)
                h.buffered -= static_cast<size_t>(m);
            else if (m < 0 && errno != EAGAIN && errno != EINTR)
                return close();
        }
        if (h.eof && h.buffered == 0) return finish(h);
        // The pipe was full and is empty again: read on. Otherwise wait for the side that
        // holds us up.
        if (h.buffered == 0 && !drained) continue;
        return wait(h, h.buffered > 0 ? Desc::wait_write : Desc::wait_read);
    }
}

// No fd is left for a pipe: move the bytes through memory instead - peek, send what the
// destination takes, then consume exactly that - so a flow never stalls for want of an
// fd, and nothing is held here between turns (the next turn tries for a pipe again).
void Flow::copy_through_memory(Half& h) {
    char buf[16 * 1024];
    int from = h.from->native_handle(), to = h.to->native_handle();
    for (;;) {
        ssize_t n = ::recv(from, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return finish(h);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno == EAGAIN ? wait(h, Desc::wait_read) : close();
        ssize_t m = ::send(to, buf, static_cast<size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (m < 0 && errno == EINTR) continue;
        if (m < 0) return errno == EAGAIN ? wait(h, Desc::wait_write) : close();
        ::recv(from, buf, static_cast<size_t>(m), MSG_DONTWAIT); // what went out
        if (m < n) return wait(h, Desc::wait_write);
    }
}

// EOF read and everything passed on: half-close the destination.
void Flow::finish(Half& h) {
    ::shutdown(h.to->native_handle(), SHUT_WR);
    h.done = true;
    pool_->put(std::exchange(h.pipe, {}));
    if (up_.done && down_.done) close();
}

// Waits for `h`'s destination to take more (wait_write) or its source to give more
// (wait_read); async_wait re-arms the descriptor, so readiness that arrived meanwhile is
// not lost.
void Flow::wait(Half& h, Desc::wait_type w) {
    auto self = shared_from_this();
    auto resume = [self, &h](boost::system::error_code ec) {
        if (!ec) self->pump(h);
    };
    if (w == Desc::wait_write) return h.to->async_wait(w, resume);
    // An idle direction gives its pipe back (a big one stays: its flow moves bulk data
    // and will soon again): a thousand idle clients then cost two fds each.
    if (h.pipe.capacity < kBigPipe) pool_->put(std::exchange(h.pipe, {}));
    h.from->async_wait(w, resume);
}

void UdpFlow::start(Fd backend) {
    boost::system::error_code ec;
    backend_.assign(backend.get(), ec);
    if (ec) return close(); // backend closes with its Fd
    (void)backend.release();
    ready_ = true;
    for (const auto& d : queued_)
        send(d.data(), d.size());
    queued_.clear();
    read_backend();
}

void UdpFlow::send(const char* data, size_t n) {
    touch();
    if (!ready_) {
        if (queued_.size() < kMaxQueued) queued_.emplace_back(data, n);
        return;
    }
    // Datagram semantics: a full socket buffer drops, as the network would.
    ::send(backend_.native_handle(), data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void UdpFlow::close() {
    closed_ = true;
    boost::system::error_code ec;
    backend_.close(ec);
}

void UdpFlow::read_backend() {
    backend_.async_wait(Desc::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->closed_) return;
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(self->backend_.native_handle(), buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0) {
                // ECONNREFUSED: nothing listens inside (yet); keep the flow, as upstream.
                if (errno == EAGAIN || errno == ECONNREFUSED || errno == EINTR) break;
                return self->close();
            }
            self->touch();
            ::sendto(self->listener_, buf, static_cast<size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL,
                     reinterpret_cast<const sockaddr*>(&self->client_), self->client_len_);
        }
        self->read_backend();
    });
}

} // namespace rk::port::builtin
