// Purpose: fuzz what rootlesskit-netd parses itself: frames from inside the namespace (the DNS
// address rewrite), its command line, and its port API requests.
#include "netd/api.hpp"
#include "netd/config.hpp"
#include "netd/rewrite.hpp"

#include <arpa/inet.h>
#include <cstdint>
#include <string>
#include <vector>

namespace {
struct NullForwarder : rk::netd::Forwarder {
    int add(const rk::netd::Forward& f) override { return f.host_port == 1 ? -98 : 0; }
    int remove(const rk::netd::Forward&) override { return 0; }
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rk::netd::DnsAlias a{htonl(0x0a000201), htonl(0x0a000203)};
    std::vector<uint8_t> frame(data, data + size);
    rk::netd::rewrite_outbound(frame, a);
    rk::netd::rewrite_inbound(frame, a);

    std::string in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> args;
    size_t start = 0;
    for (size_t i = 0; i <= in.size(); ++i)
        if (i == in.size() || in[i] == '\0') {
            args.push_back(in.substr(start, i - start));
            start = i + 1;
        }
    (void)rk::netd::parse_config(args);

    NullForwarder fw;
    rk::netd::Api api(fw);
    (void)api.handle(in);
    (void)api.handle(in);
    return 0;
}
