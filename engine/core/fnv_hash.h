#pragma once
// FNV-1a, 64 bit: a hash of bytes that is the same on every machine and build, for names and keys
// that must stay stable across runs (config hashes, stage keys, cache file names). Not for security.
#include <cstdint>
#include <string_view>

namespace mtmap {

inline uint64_t fnv1a64(std::string_view bytes, uint64_t h = 1469598103934665603ull) {
  for (unsigned char ch : bytes) h = (h ^ ch) * 1099511628211ull;
  return h;
}

}  // namespace mtmap
