#include "training/run_files.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"

namespace mtmap::training {
namespace fs = std::filesystem;

namespace {
constexpr const char* kPrefix = "step-";
constexpr const char* kSuffix = ".safetensors";
}  // namespace

std::string checkpoint_path(const std::string& run_dir, int64_t step) {
  return (fs::path(run_dir) / "checkpoints" / fmt::format("{}{:08d}{}", kPrefix, step, kSuffix)).string();
}

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    // Only complete files: "step-00000120.safetensors" (a temporary ends in ".tmp").
    if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
    const std::string digits = name.substr(5, name.size() - 5 - std::strlen(kSuffix));
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    out.emplace_back(std::stoll(digits), e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void prune_checkpoints(const std::string& run_dir, int keep) {
  auto all = list_checkpoints(run_dir);
  std::error_code ec;
  for (size_t i = 0; i + size_t(keep) < all.size(); ++i) fs::remove(all[i].second, ec);
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(dir, ec)) return;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().ends_with(".tmp")) fs::remove(e.path(), ec);
}

void truncate_metrics(const std::string& path, int64_t last_step) {
  std::ifstream in(path);
  if (!in.good()) return;
  std::ostringstream kept;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      break;  // a line cut by a kill: everything after it is gone too
    }
    if (!j.contains("step") || j["step"].get<int64_t>() > last_step) break;
    kept << line << "\n";
  }
  write_file_atomic(path, kept.str());
}

}  // namespace mtmap::training
