// Error text helpers.
#include "error.h"

#include <cstring>

namespace probescope {

std::string errno_text(const std::string& what, int err) {
    if (err < 0) err = -err;
    return what + ": " + std::strerror(err);
}

}  // namespace probescope
