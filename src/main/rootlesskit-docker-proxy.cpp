// Purpose: the rootlesskit-docker-proxy command - Docker's (< v28) userland proxy for rootless
// mode; see ctl/docker_proxy.hpp.
#include "ctl/docker_proxy.hpp"
#include "util/guard.hpp"

#include <string>
#include <vector>

int main(int argc, char** argv) {
    return rk::util::guarded_main("rootlesskit-docker-proxy", [&] {
        return rk::ctl::docker_proxy_main(std::vector<std::string>(argv + 1, argv + argc));
    });
}
