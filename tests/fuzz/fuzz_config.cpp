// libFuzzer target: bytes as the --config file (TOML/INI, [run] section), read by CLI11 exactly
// as main wires it, with the first byte choosing the command line around it.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli_harness.h"

namespace {

// One temporary file per fuzzing process, rewritten for every input and removed at exit.
struct ConfigFile {
    std::string path;
    ConfigFile() {
        char name[] = "/tmp/probescope-fuzz-config.XXXXXX";
        const int fd = mkstemp(name);
        if (fd < 0) std::abort();
        close(fd);
        path = name;
    }
    ~ConfigFile() { unlink(path.c_str()); }
};

const std::string& config_path() {
    static const ConfigFile file;
    return file.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    static const std::vector<std::vector<std::string>> commands = {
        {"run", "--iface", "lo"},    {"run"}, {"top", "--iface", "lo"}, {"replay", "capture.pcap"},
        {"detach", "--iface", "lo"}, {},
    };
    const auto& command = commands[data[0] % commands.size()];
    FILE* f = fopen(config_path().c_str(), "wb");
    if (!f) std::abort();
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    std::vector<std::string> args{"--config", config_path()};
    args.insert(args.end(), command.begin(), command.end());
    probescope::fuzz::parse_and_validate(args);
    return 0;
}
