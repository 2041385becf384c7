// Purpose: the rootless-setuptool command - see setuptool/command.hpp.
#include "setuptool/command.hpp"

int main(int argc, char** argv) {
    return rk::setuptool::run(argc, argv);
}
