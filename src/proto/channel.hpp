// Purpose: the parent <-> child message pipe used during start-up.
//
// Theory of Operation
//   The child is a clone of the parent (no exec), so it already holds the Options; the pipe
//   only sequences the start-up and carries what the parent learns after the clone:
//
//     parent                                  child (new user+mount[+pid,net,...] namespaces)
//     clone() ------------------------------> waits for IdmapDone (EOF = parent died: exit)
//     newuidmap || newgidmap (concurrently)
//     IdmapDone ----------------------------> now uid 0 with full capabilities in the userns
//                                              mounts /proc (--pidns)
//                 <-------------------------- UserNSReady
//     starts signal forwarding, cgroup2 evacuation, network driver (parent half)
//     NetworkReady (driver payload) --------> propagation, copy-up, network (child half),
//                                              builtin port driver's source-IP routing
//                 <-------------------------- ChildReady (payload: port::builtin::
//                                              kSourceIpBackend if that routing is in force,
//                                              else empty; or exits 1 after printing why)
//     writes child_pid                          forks and execs the target
//
//   Frames are: uint32 little-endian payload length (0..65536), one kind byte, the payload.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rk::proto {

enum class MsgKind : uint8_t {
    IdmapDone = 1,
    UserNSReady = 2,
    NetworkReady = 3,
    ChildReady = 4,
};

struct Message {
    MsgKind kind;
    std::string payload;
};

constexpr size_t kMaxPayload = 65536;

std::string encode(const Message& m);
// Decodes one frame from the front of `buf`; on success `consumed` is its size.
// nullopt with consumed == 0 means "incomplete"; an error means the bytes are not a frame.
util::Result<std::optional<Message>> decode(std::string_view buf, size_t& consumed);

util::Status send(int fd, const Message& m);
// Reads exactly one frame. EOF before a whole frame is an error whose errno is EPIPE.
util::Result<Message> receive(int fd);
// receive() that also checks the kind.
util::Result<Message> expect(int fd, MsgKind kind);

const char* kind_name(MsgKind k);

} // namespace rk::proto
