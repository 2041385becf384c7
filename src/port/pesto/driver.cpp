// Purpose: the pesto port driver (see driver.hpp).
//
// Theory of Operation
//   add: check the spec (conflicts, protocol, ChildIP), bind the host address and port once
//   and let go (pesto says nothing when pasta cannot bind: a port in use or a privileged one
//   would otherwise be "added" and never answer), then `pesto -A -t|-u [ADDR/]PORT:CHILD SOCK`.
//   remove: `pesto -D` with the same forward. IDs are ours (pasta's table has none), from 1,
//   never reused. Each pesto run is a child process watched on the event loop (its output
//   pipe and a pidfd for its exit; a 3 s timer kills a pesto stuck on a wedged pasta); changes
//   run one at a time (SerialDriver).
#include "port/pesto/driver.hpp"

#include "port/listener.hpp"
#include "port/serial.hpp"
#include "sys/fs.hpp"
#include "sys/process.hpp"
#include "sys/syscalls.hpp"
#include "util/strings.hpp"

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <fmt/format.h>
#include <map>
#include <sys/wait.h>
#include <unistd.h>

namespace rk::port::pesto {
namespace asio = boost::asio;
using util::fail;
using util::plain_error;

namespace {

constexpr auto kDeadline = std::chrono::seconds(3);

bool is_ipv6(const std::string& ip) {
    return ip.find(':') != std::string::npos;
}

} // namespace

util::Result<std::string> find_pesto(const std::string& pasta_binary) {
    auto pasta = sys::find_in_path(pasta_binary);
    if (pasta) {
        std::string next_to = pasta->substr(0, pasta->rfind('/') + 1) + "pesto";
        if (::access(next_to.c_str(), X_OK) == 0) return next_to;
    }
    if (auto p = sys::find_in_path("pesto")) return *p;
    return fail(plain_error("pesto (passt's client for a running pasta) not found in $PATH",
                            "install passt 2026_05_07 or newer, or use --port-driver=implicit"));
}

util::Result<std::vector<std::string>> pesto_args(bool add, const PortSpec& submitted,
                                                  const Config& config) {
    PortSpec s = with_plain_ipv4(submitted);
    std::string base = s.proto.substr(0, 3);
    char family = s.proto.size() == 4 ? s.proto[3] : 0;
    const std::string protos = config.ipv6 ? "tcp, tcp4, tcp6, udp, udp4 or udp6"
                                           : "tcp, tcp4, udp or udp4 (tcp6 and udp6 with --ipv6)";
    if ((base != "tcp" && base != "udp") || s.proto.size() > 4 ||
        (family != 0 && family != '4' && family != '6') || (family == '6' && !config.ipv6))
        return fail(
            plain_error(fmt::format("unsupported protocol \"{}\"", s.proto), "use " + protos));
    if (!s.child_ip.empty() && s.child_ip != config.child_ip)
        return fail(
            plain_error(fmt::format("pasta forwards to the namespace's own address {} only, not {}",
                                    config.child_ip, s.child_ip),
                        "leave ChildIP out"));
    std::string ip = s.parent_ip;
    if ((family == '4' && is_ipv6(ip)) || (family == '6' && !ip.empty() && !is_ipv6(ip)) ||
        (!config.ipv6 && is_ipv6(ip)))
        return fail(plain_error(fmt::format("listen {} {}: no suitable address found", s.proto, ip),
                                config.ipv6 ? "" : "IPv6 needs --ipv6"));
    if (ip.empty() && family == '4') ip = "0.0.0.0";
    if (ip.empty() && family == '6') ip = "::";
    std::string where = ip.empty()    ? std::string()
                        : is_ipv6(ip) ? fmt::format("[{}]/", ip)
                                      : ip + "/";
    return std::vector<std::string>{add ? "-A" : "-D", base == "tcp" ? "-t" : "-u",
                                    fmt::format("{}{}:{}", where, s.parent_port, s.child_port),
                                    config.control_socket};
}

namespace {

// One pesto run, watched on an event loop: its output (stdout and stderr) read to EOF and its
// exit seen on a pidfd (never a blocking waitpid on the loop); then it is reaped, and `done`
// gets nothing or the error, on the loop's thread. After kDeadline it is killed through the
// pidfd, which cannot reach another process once ours is gone.
class PestoRun : public std::enable_shared_from_this<PestoRun> {
  public:
    using Done = std::function<void(util::Status)>;
    PestoRun(asio::io_context& io, sys::Helper h, util::Fd pidfd, Done done)
        : out_(io, h.output.release()), exit_(io, pidfd.release()), timer_(io), pid_(h.pid),
          done_(std::move(done)) {}

    void start() {
        timer_.expires_after(kDeadline);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->exited_) return;
            self->timed_out_ = true;
            sys::pidfd_send_signal(self->exit_.native_handle(), SIGKILL);
            // a grandchild may hold the output open: stop reading, the exit decides now
            boost::system::error_code ignored;
            self->out_.close(ignored);
        });
        exit_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                             if (ec) return;
                             self->exited_ = true;
                             self->maybe_finish();
                         });
        read();
    }

  private:
    void read() {
        out_.async_read_some(
            asio::buffer(buf_),
            [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                if (!ec) {
                    if (self->output_.size() < 16384) self->output_.append(self->buf_.data(), n);
                    return self->read();
                }
                self->output_done_ = true;
                self->maybe_finish();
            });
    }

    void maybe_finish() {
        if (!exited_ || !output_done_ || !done_) return;
        auto done = std::move(done_);
        done_ = nullptr;
        timer_.cancel();
        boost::system::error_code ignored;
        out_.close(ignored);
        int st = 0;
        // it has exited (the pidfd said so): this reaps without waiting
        sys::retry_eintr([&] { return ::waitpid(pid_, &st, WNOHANG); });
        exit_.close(ignored);
        if (timed_out_)
            return done(
                fail(plain_error(fmt::format("pesto did not finish within {} s", kDeadline.count()),
                                 "is pasta stopped or overloaded?")));
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return done({});
        auto lines = util::split(util::trim(output_), '\n');
        std::string why =
            lines.empty() ? sys::describe_wait_status(st) : std::string(util::trim(lines.back()));
        done(fail(plain_error("pesto: " + why)));
    }

    asio::posix::stream_descriptor out_, exit_;
    asio::steady_timer timer_;
    pid_t pid_;
    Done done_;
    std::string output_;
    std::array<char, 4096> buf_{};
    bool timed_out_ = false, exited_ = false, output_done_ = false;
};

class PestoPorts final : public SerialDriver {
  public:
    PestoPorts(asio::io_context* io, Config config)
        : SerialDriver(io), config_(std::move(config)) {}

    std::string name() const override { return "pesto"; }
    std::vector<std::string> protos() const override {
        if (config_.ipv6) return {"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6"};
        return {"tcp", "tcp4", "udp", "udp4"};
    }
    bool disallow_loopback_child_ip() const override { return true; }
    std::vector<PortStatus> list() const override { return statuses(ports_); }

  private:
    void start_add(asio::io_context& io, const PortSpec& spec, AddDone done) override {
        auto args = prepare_add(spec);
        if (!args) return done(fail(args.error()));
        run(io, std::move(*args), [this, spec, done](util::Status st) {
            if (!st) return done(fail(st.error()));
            int id = next_id_++;
            ports_[id] = spec;
            done(PortStatus{id, spec});
        });
    }
    void start_remove(asio::io_context& io, int id, RemoveDone done) override {
        auto it = ports_.find(id);
        if (it == ports_.end()) return done(fail(plain_error(fmt::format("unknown id: {}", id))));
        auto args = pesto_args(false, it->second, config_);
        if (!args) return done(fail(args.error()));
        run(io, std::move(*args), [this, id, done](util::Status st) {
            if (!st) return done(st);
            ports_.erase(id);
            done({});
        });
    }

    util::Result<std::vector<std::string>> prepare_add(const PortSpec& spec) const {
        RK_TRY(validate_port_spec(spec, ports_));
        auto args = RK_TRY(pesto_args(true, spec, config_));
        // Bindable now (released at once): see driver.hpp.
        RK_TRY(make_listener(with_plain_ipv4(spec)));
        return args;
    }

    // Runs pesto with `args`; `done` gets the outcome unless the driver is gone by then.
    void run(asio::io_context& io, std::vector<std::string> args,
             std::function<void(util::Status)> done) {
        args.insert(args.begin(), config_.pesto);
        auto h = sys::spawn_helper(std::move(args));
        if (!h) return done(fail(h.error()));
        util::Fd pidfd(sys::pidfd_open(h->pid, 0));
        if (!pidfd) {
            auto e = util::sys_error("pidfd_open (watching pesto)");
            ::kill(h->pid, SIGKILL); // not reaped yet: the pid is still ours
            sys::retry_eintr([&] { return ::waitpid(h->pid, nullptr, 0); });
            return done(fail(e));
        }
        std::make_shared<PestoRun>(io, std::move(*h), std::move(pidfd),
                                   while_alive(std::move(done)))
            ->start();
    }

    Config config_;
    std::map<int, PortSpec> ports_;
    int next_id_ = 1;
};

} // namespace

std::unique_ptr<port::Driver> make_driver(asio::io_context* io, Config config) {
    return std::make_unique<PestoPorts>(io, std::move(config));
}

} // namespace rk::port::pesto
