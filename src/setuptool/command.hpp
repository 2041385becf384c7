// Purpose: the rootless-setuptool command (check / install / uninstall / nsenter).
#pragma once

namespace rk::setuptool {

// Runs the command; returns the exit code (0 ok, 1 failure or "will not work", 2 bad usage).
int run(int argc, char** argv);

} // namespace rk::setuptool
