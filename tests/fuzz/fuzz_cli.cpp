// libFuzzer target: NUL-separated bytes as probescope's argument vector, parsed and validated.
#include <cstdint>
#include <string>
#include <vector>

#include "cli_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args(1);
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == 0)
            args.emplace_back();
        else
            args.back() += static_cast<char>(data[i]);
    }
    // --config reads the file it names, and a name like /dev/zero never ends: fuzz_config
    // covers the config file, with its contents as the input.
    for (const auto& a : args)
        if (a.find("config") != std::string::npos) return 0;
    probescope::fuzz::parse_and_validate(args);
    return 0;
}
