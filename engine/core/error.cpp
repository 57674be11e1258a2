#include "engine/core/error.h"

#include <cstring>

namespace mtmap {

[[noreturn]] void throw_error(const char* file, int line, const std::string& message) {
  // Only the file's base name: full build paths make messages unreadable.
  const char* base = std::strrchr(file, '/');
  throw Error(fmt::format("{} ({}:{})", message, base ? base + 1 : file, line));
}

}  // namespace mtmap
