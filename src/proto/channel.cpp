// Purpose: the parent <-> child message pipe used during start-up (see channel.hpp).
#include "proto/channel.hpp"

#include "sys/syscalls.hpp"

#include <fmt/format.h>

namespace rk::proto {
using util::fail;

const char* kind_name(MsgKind k) {
    switch (k) {
    case MsgKind::IdmapDone:
        return "IdmapDone";
    case MsgKind::UserNSReady:
        return "UserNSReady";
    case MsgKind::NetworkReady:
        return "NetworkReady";
    case MsgKind::ChildReady:
        return "ChildReady";
    }
    return "unknown";
}

std::string encode(const Message& m) {
    std::string out;
    uint32_t n = static_cast<uint32_t>(m.payload.size());
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out.push_back(static_cast<char>(m.kind));
    out += m.payload;
    return out;
}

util::Result<std::optional<Message>> decode(std::string_view buf, size_t& consumed) {
    consumed = 0;
    if (buf.size() < 5) return std::optional<Message>{};
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
        n |= static_cast<uint32_t>(static_cast<uint8_t>(buf[i])) << (8 * i);
    if (n > kMaxPayload) return fail(util::plain_error(fmt::format("bad message length {}", n)));
    auto kind = static_cast<uint8_t>(buf[4]);
    if (kind < 1 || kind > 4)
        return fail(util::plain_error(fmt::format("bad message kind {}", kind)));
    if (buf.size() < 5 + static_cast<size_t>(n)) return std::optional<Message>{};
    consumed = 5 + n;
    return std::optional<Message>(
        Message{static_cast<MsgKind>(kind), std::string(buf.substr(5, n))});
}

util::Status send(int fd, const Message& m) {
    if (m.payload.size() > kMaxPayload) return fail(util::plain_error("message too long"));
    std::string frame = encode(m);
    std::string_view rest = frame;
    while (!rest.empty()) {
        ssize_t w = sys::retry_eintr([&] { return ::write(fd, rest.data(), rest.size()); });
        if (w < 0) return fail(util::sys_error(std::string("cannot send ") + kind_name(m.kind)));
        rest.remove_prefix(static_cast<size_t>(w));
    }
    return {};
}

util::Result<Message> receive(int fd) {
    std::string buf;
    for (;;) {
        size_t consumed = 0;
        auto m = RK_TRY(decode(buf, consumed));
        if (m) return std::move(*m);
        char tmp[4096];
        // Read no further than the frame we need, so a following frame stays in the pipe.
        size_t want = buf.size() < 5 ? 5 - buf.size() : sizeof tmp;
        if (buf.size() >= 5) {
            uint32_t n = 0;
            for (int i = 0; i < 4; ++i)
                n |= static_cast<uint32_t>(static_cast<uint8_t>(buf[i])) << (8 * i);
            want = std::min(sizeof tmp, 5 + n - buf.size());
        }
        ssize_t r = sys::retry_eintr([&] { return ::read(fd, tmp, want); });
        if (r < 0) return fail(util::sys_error("cannot read from the start-up pipe"));
        if (r == 0)
            return fail(util::sys_error(EPIPE, "the other side of the start-up pipe exited"));
        buf.append(tmp, static_cast<size_t>(r));
    }
}

util::Result<Message> expect(int fd, MsgKind kind) {
    auto m = RK_TRY(receive(fd));
    if (m.kind != kind)
        return fail(util::plain_error(
            fmt::format("expected {}, got {}", kind_name(kind), kind_name(m.kind))));
    return m;
}

} // namespace rk::proto
