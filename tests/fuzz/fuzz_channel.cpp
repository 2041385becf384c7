// Purpose: fuzz the parent <-> child frame decoder; every decoded frame must re-encode to the
// bytes it came from.
#include "proto/channel.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    while (!in.empty()) {
        size_t used = 0;
        auto m = rk::proto::decode(in, used);
        if (!m || !*m) break;
        if (rk::proto::encode(**m) != in.substr(0, used)) std::abort();
        in.remove_prefix(used);
    }
    return 0;
}
