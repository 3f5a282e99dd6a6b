#pragma once
// Reading a whole small file (a certificate, a /proc entry) with a size cap, so
// a wrong path pointing at a huge file cannot exhaust memory.
#include "shared/util/result.h"

#include <cstddef>
#include <string>

namespace hale::agent::platform {

/// The file's bytes; an Error naming the path when it cannot be read or is
/// larger than `max_bytes`.
Result<std::string> readFileCapped(const std::string& path, size_t max_bytes = 4 * 1024 * 1024);

}  // namespace hale::agent::platform
