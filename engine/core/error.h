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

[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

}  // namespace mtmap

#define MTMAP_CHECK(cond, ...)                                                      \
  do {                                                                              \
    if (!(cond)) ::mtmap::throw_error(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__)); \
  } while (0)

#define MTMAP_FAIL(...) ::mtmap::throw_error(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
