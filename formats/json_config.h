#pragma once
// Strict JSON configs: a section is a table of key → handler, so an unknown key is found by lookup
// failure and reported with its full path and the keys that are allowed, never silently ignored;
// a value of the wrong type is reported with its path and the value. Every config of the project
// (the model spec, training, analysis) reads its sections through this.
#include <nlohmann/json.hpp>

#include <functional>
#include <initializer_list>
#include <map>
#include <string>

namespace mtmap::formats {

// A key's handler gets the value and the key's full path ("training.batch_size") for messages.
using KeyHandler = std::function<void(const nlohmann::json& value, const std::string& key)>;
using KeyTable = std::map<std::string, KeyHandler>;

// Calls the handler of every key of the object `j` (whose path is `path`); throws mtmap::Error for
// a non-object, an unknown key ("<path>.<key>: unknown config key (known keys: …)") and for a value
// the handler cannot convert ("<path>.<key>: wrong type (<value>): …").
void parse_section(const nlohmann::json& j, const std::string& path, const KeyTable& keys);

// A handler that stores the value into `field` (nlohmann's conversion; a mismatch is "wrong type").
template <typename T>
KeyHandler store(T& field) {
  return [&field](const nlohmann::json& v, const std::string&) { field = v.get<T>(); };
}

// Throws "<key>: '<value>' is not one of: a, b, …" unless value is one of `allowed`.
void check_one_of(const std::string& value, std::initializer_list<const char*> allowed, const std::string& key);

// Reads and parses a JSON file; errors name the file (missing, unreadable, invalid JSON with the
// parser's position).
nlohmann::json read_json_file(const std::string& path);

}  // namespace mtmap::formats
