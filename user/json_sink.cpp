// JsonSink: one record per line; invalid UTF-8 is replaced, never thrown on.
#include "json_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"

namespace probescope {

JsonSink::JsonSink(const std::string& path) : path_(path) {
    if (path.empty() || path == "-") {
        out_ = stdout;
        return;
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        throw Error(errno_text("cannot open output file " + path, errno),
                    "check that its directory exists and is writable");
    out_ = fdopen(fd, "a");
    owned_ = true;
}

JsonSink::~JsonSink() {
    if (owned_ && out_) fclose(out_);
}

void JsonSink::write(const nlohmann::json& record) {
    std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    fwrite(line.data(), 1, line.size(), out_);
}

void JsonSink::flush() { fflush(out_); }

}  // namespace probescope
