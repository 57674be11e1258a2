#pragma once
// One error family for the whole engine. MTMAP_CHECK throws mtmap::Error with the condition, the
// place and a formatted message (which should name the op and the shapes involved).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace mtmap {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Memory exhausted on a device (the allocators throw it, naming the request and what is in use), so
// a caller can add what to change (a smaller batch) and a program can say so instead of crashing.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

}  // namespace mtmap

#define MTMAP_CHECK(cond, ...)                                                      \
  do {                                                                              \
    if (!(cond)) ::mtmap::throw_error(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__)); \
  } while (0)

#define MTMAP_FAIL(...) ::mtmap::throw_error(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
