// Purpose: the rootlessctl command - a client of rootlesskit's REST API.
#include "ctl/rootlessctl.hpp"

#include "util/guard.hpp"

#include <string>
#include <vector>

int main(int argc, char** argv) {
    return rk::util::guarded_main("rootlessctl", [&] {
        return rk::ctl::run(std::vector<std::string>(argv + 1, argv + argc));
    });
}
