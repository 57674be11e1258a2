#pragma once
// Runs a peer benchmark (a shell command, e.g. tools/torch_bench.py) and collects the JSON lines it
// prints; other lines (Python's warnings, the reason it failed) go to `other` when given.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mtmap::bench {

inline std::vector<nlohmann::json> run_json_lines(const std::string& cmd, FILE* other = nullptr) {
  std::vector<nlohmann::json> lines;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return lines;
  char buf[4096];
  while (fgets(buf, sizeof buf, pipe.get())) {
    try {
      lines.push_back(nlohmann::json::parse(buf));
    } catch (const nlohmann::json::exception&) {
      if (other) std::fprintf(other, "peer: %s", buf);
    }
  }
  return lines;
}

}  // namespace mtmap::bench
