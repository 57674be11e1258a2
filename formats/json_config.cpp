#include "formats/json_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <vector>

#include "engine/core/error.h"

namespace mtmap::formats {

using json = nlohmann::json;

void parse_section(const json& j, const std::string& path, const KeyTable& keys) {
  MTMAP_CHECK(j.is_object(), "{}: expected a JSON object, got {}", path, j.type_name());
  for (const auto& [key, value] : j.items()) {
    auto it = keys.find(key);
    if (it == keys.end()) {
      std::vector<std::string> known;
      for (const auto& [k, _] : keys) known.push_back(k);
      MTMAP_FAIL("{}.{}: unknown config key (known keys: {})", path, key, fmt::join(known, ", "));
    }
    try {
      it->second(value, path + "." + key);
    } catch (const json::exception& e) {
      MTMAP_FAIL("{}.{}: wrong type ({}): {}", path, key, value.dump(), e.what());
    }
  }
}

void fail_not_integer(const json& v, const std::string& key, const std::string& range) {
  MTMAP_FAIL("{} = {} (need an integer in {})", key, v.dump(), range);
}

void check_one_of(const std::string& value, std::initializer_list<const char*> allowed, const std::string& key) {
  for (const char* a : allowed)
    if (value == a) return;
  MTMAP_FAIL("{}: '{}' is not one of: {}", key, value, fmt::join(allowed, ", "));
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  MTMAP_CHECK(in.good(), "cannot open config file '{}'", path);
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    MTMAP_FAIL("config file '{}': invalid JSON: {}", path, e.what());
  }
}

}  // namespace mtmap::formats
