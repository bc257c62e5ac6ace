// The agent's error type: what failed, with what, and what the user can do about it.
#pragma once
#include <stdexcept>
#include <string>

namespace probescope {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what, std::string hint = {})
        : std::runtime_error(what), hint_(std::move(hint)) {}
    const std::string& hint() const { return hint_; }

private:
    std::string hint_;
};

// "what: strerror(err)" for a failed system or libbpf call (err may be negative).
std::string errno_text(const std::string& what, int err);

}  // namespace probescope
