#pragma once
// What every fuzz target shares: the input as text or a stream, and the rule for what is a finding.
// A reader given bad bytes must end in an mtmap::Error (a clear message naming the input, caught
// here: the expected outcome); any other exception escapes LLVMFuzzerTestOneInput and is reported
// as a crash by libFuzzer and by the replay driver (replay_main.cpp), as are sanitizer reports.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/error.h"

namespace mtmap::fuzz {

inline std::string text_of(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

// Runs `body`, treating mtmap::Error (and its subclasses) as the expected end of a bad input.
template <typename F>
void expect_clean_errors(F&& body) {
  try {
    body();
  } catch (const mtmap::Error&) {
  }
}

}  // namespace mtmap::fuzz
