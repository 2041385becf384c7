// Purpose: fuzz the REST API's request handling: method, target and body from the input
// (separated by NUL bytes), routed against an in-memory port table.
#include "api/router.hpp"

#include <cstdint>
#include <string>

namespace {
class MemoryPorts final : public rk::port::Driver {
  public:
    std::string name() const override { return "memory"; }
    std::vector<std::string> protos() const override { return {"tcp"}; }
    rk::util::Result<rk::port::PortStatus> add(const rk::port::PortSpec& s) override {
        std::map<int, rk::port::PortSpec> existing;
        for (const auto& p : ports_)
            existing[p.id] = p.spec;
        RK_TRY(rk::port::validate_port_spec(s, existing));
        if (ports_.size() > 64) ports_.clear();
        ports_.push_back({next_++, s});
        return ports_.back();
    }
    rk::util::Status remove(int id) override {
        std::erase_if(ports_, [&](auto& p) { return p.id == id; });
        return {};
    }
    std::vector<rk::port::PortStatus> list() const override { return ports_; }

  private:
    std::vector<rk::port::PortStatus> ports_;
    int next_ = 1;
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static MemoryPorts ports;
    std::string in(reinterpret_cast<const char*>(data), size);
    std::string parts[3];
    size_t k = 0;
    for (char c : in) {
        if (c == '\0' && k < 2)
            ++k;
        else
            parts[k] += c;
    }
    rk::api::Backend b{[] { return rk::api::Info{}; }, &ports};
    auto r = rk::api::route(parts[0], parts[1], parts[2], b);
    if (r.status < 200 || r.status > 599) __builtin_trap();
    return 0;
}
