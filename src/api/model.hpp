// Purpose: the REST API's JSON documents (API version 1.1.2), with upstream's field names,
// order and omitempty rules, and Go's HTML-safe string escaping.
#pragma once

#include "net/driver.hpp"
#include "port/driver.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rk::api {

inline constexpr const char* kApiVersion = "1.1.2";

using NetworkDriverInfo = net::DriverInfo;

struct PortDriverInfo {
    std::string driver;
    std::vector<std::string> protos;
    bool disallow_loopback_child_ip = false;
    std::map<std::string, std::string> extra; // sorted, as Go writes a map
};

// --socket-bypass (ours, not upstream's): connections made from the host and installed, those
// of them whose connect failed, and connect() calls left to the kernel.
struct SocketBypassInfo {
    uint64_t bypassed = 0, failed = 0, passed = 0;
};

struct Info {
    std::string api_version = kApiVersion;
    std::string version;
    std::string state_dir;
    long child_pid = 0;
    std::optional<NetworkDriverInfo> network_driver;
    std::optional<PortDriverInfo> port_driver;
    std::optional<SocketBypassInfo> socket_bypass;
};

// Compact JSON, as Go's encoding/json writes it (no trailing newline).
std::string to_json(const Info& info);
std::string to_json(const port::PortSpec& spec);
std::string to_json(const port::PortStatus& status);
// `null` for an empty list, like a nil Go slice.
std::string to_json(const std::vector<port::PortStatus>& list);
// The error body: {"message":"..."} followed by a newline.
std::string error_body(const std::string& message);

// Parses a PortSpec document: the first JSON value only (trailing bytes ignored), unknown
// fields ignored, wrong types rejected with a Go-like message.
util::Result<port::PortSpec> parse_port_spec_json(std::string_view body);
util::Result<Info> parse_info_json(std::string_view body);
util::Result<port::PortStatus> parse_port_status_json(std::string_view body);
util::Result<std::vector<port::PortStatus>> parse_port_list_json(std::string_view body);

// Pretty form used by `rootlessctl info --json` (4-space indent).
std::string to_pretty_json(const Info& info);

} // namespace rk::api
