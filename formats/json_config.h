#pragma once
// Strict JSON configs: a section is a table of key → handler, so an unknown key is found by lookup
// failure and reported with its full path and the keys that are allowed, never silently ignored;
// a value of the wrong type is reported with its path and the value. Every config of the project
// (the model spec, training, analysis) reads its sections through this.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/core/error.h"

namespace mtmap::formats {

// A key's handler gets the value and the key's full path ("training.batch_size") for messages.
using KeyHandler = std::function<void(const nlohmann::json& value, const std::string& key)>;
using KeyTable = std::map<std::string, KeyHandler>;

// Calls the handler of every key of the object `j` (whose path is `path`); throws mtmap::Error for
// a non-object, an unknown key ("<path>.<key>: unknown config key (known keys: …)") and for a value
// the handler cannot convert ("<path>.<key>: wrong type (<value>): …").
void parse_section(const nlohmann::json& j, const std::string& path, const KeyTable& keys);

// Throws "<key> = <value> (need an integer in <range>)".
[[noreturn]] void fail_not_integer(const nlohmann::json& v, const std::string& key, const std::string& range);

// An integer of type T from a JSON number, checked: nlohmann's own get<int>() converts 2.5 to 2,
// -1 to 2^64 − 1 for an unsigned, and 1e30 to whatever the (undefined) float-to-int conversion gives
// (fuzzing found it). A float is taken when it is a whole number within ±2^53. A value that is no
// number at all is nlohmann's type_error ("wrong type" in parse_section); a number that does not
// fit is an mtmap::Error "<key> = <value> (need an integer in <min>..<max>)".
template <typename T>
T get_integer(const nlohmann::json& v, const std::string& key) {
  using L = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (std::in_range<T>(u)) return T(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (std::in_range<T>(i)) return T(i);
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740992.0 &&
        std::in_range<T>(int64_t(d)))
      return T(int64_t(d));
  } else {
    return v.get<T>();  // throws nlohmann's type_error
  }
  fail_not_integer(v, key, fmt::format("{}..{}", L::min(), L::max()));
}

template <typename T>
struct is_vector : std::false_type {};
template <typename T, typename A>
struct is_vector<std::vector<T, A>> : std::true_type {};

// get<T>() with the integers checked (get_integer), also inside vectors ("<key>[<i>]" in messages).
template <typename T>
T get_checked(const nlohmann::json& v, const std::string& key) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return get_integer<T>(v, key);
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) return v.get<T>();  // throws nlohmann's type_error
    T out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(get_checked<typename T::value_type>(v[i], key + "[" + std::to_string(i) + "]"));
    return out;
  } else {
    return v.get<T>();
  }
}

// A handler that stores the value into `field` (get_checked; a mismatch is "wrong type").
template <typename T>
KeyHandler store(T& field) {
  return [&field](const nlohmann::json& v, const std::string& key) { field = get_checked<T>(v, key); };
}

// Throws "<key>: '<value>' is not one of: a, b, …" unless value is one of `allowed`.
void check_one_of(const std::string& value, std::initializer_list<const char*> allowed, const std::string& key);

// Reads and parses a JSON file; errors name the file (missing, unreadable, invalid JSON with the
// parser's position).
nlohmann::json read_json_file(const std::string& path);

}  // namespace mtmap::formats
