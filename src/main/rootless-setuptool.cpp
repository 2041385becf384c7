// Purpose: the rootless-setuptool command - see setuptool/command.hpp.
#include "setuptool/command.hpp"
#include "util/guard.hpp"

int main(int argc, char** argv) {
    return rk::util::guarded_main("rootless-setuptool",
                                  [&] { return rk::setuptool::run(argc, argv); });
}
