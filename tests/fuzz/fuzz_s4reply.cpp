// Purpose: fuzz the parsing of slirp4netns API replies (they come from a helper process that
// handles packets from inside the namespace).
#include "port/slirp4netns/driver.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    (void)rk::port::slirp4netns::parse_add_reply(in);
    (void)rk::port::slirp4netns::parse_list_reply(in);
    (void)rk::port::slirp4netns::parse_plain_reply(in);
    return 0;
}
