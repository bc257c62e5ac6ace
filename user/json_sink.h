// Writes JSON records as lines to stdout or a file.
#pragma once
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace probescope {

class JsonSink {
public:
    // Empty path or "-" means stdout. Files are created 0640 and appended to.
    explicit JsonSink(const std::string& path);
    ~JsonSink();
    JsonSink(const JsonSink&) = delete;
    JsonSink& operator=(const JsonSink&) = delete;

    void write(const nlohmann::json& record);
    void flush();

private:
    std::string path_;
    FILE* out_ = nullptr;
    bool owned_ = false;
};

}  // namespace probescope
