// Purpose: fuzz the rootlesskit command-line parser and validator (argv = NUL-separated input).
#include "cli/flags.hpp"
#include "util/log.hpp"

#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rk::util::log::set_output_fd(-1); // validate() warns; keep libFuzzer's output readable
    std::vector<std::string> args(1);
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == 0)
            args.emplace_back();
        else
            args.back().push_back(static_cast<char>(data[i]));
    }
    auto r = rk::cli::parse(args);
    if (r && r->action == rk::cli::Action::Run) (void)rk::cli::validate(r->opts);
    return 0;
}
