#include "study/study_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "engine/core/error.h"
#include "formats/json_config.h"
#include "study/experiment_file.h"

namespace mtmap::study {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

training::Objective parse_objective(const std::string& name, const std::string& key) {
  formats::check_one_of(name, {"joint", "contrastive", "spatial"}, key);
  return name == "joint" ? training::Objective::joint
         : name == "contrastive" ? training::Objective::contrastive
                                 : training::Objective::spatial;
}

StudySpec parse_spec(const json& j, const std::string& o, const training::TrainConfig& base) {
  StudySpec s;
  s.name = fs::path(o).stem().string();
  std::vector<std::string> objectives;
  std::optional<double> ablation_alpha;
  if (!j.is_null())
    formats::parse_section(j, o + ".study",
                           {{"name", formats::store(s.name)},
                            {"alphas", formats::store(s.alphas)},
                            {"objectives", formats::store(objectives)},
                            {"ablation_alpha", [&](const json& v, const std::string&) { ablation_alpha = v.get<double>(); }},
                            {"seeds", formats::store(s.seeds)},
                            {"analyse", formats::store(s.analyse)},
                            {"notes", formats::store(s.notes)}});
  const std::string k = o + ".study";
  MTMAP_CHECK(!s.name.empty() && s.name.find_first_of("/\\") == std::string::npos && s.name != "." && s.name != "..",
              "{}.name = '{}' (need a non-empty name without '/': it names the study's folder)", k, s.name);
  if (s.alphas.empty()) {
    MTMAP_CHECK(j.is_null() || !j.contains("alphas"), "{}.alphas is empty (need at least one α ≥ 0)", k);
    s.alphas = {base.training.alpha};
  }
  std::set<double> seen_alpha;
  for (size_t i = 0; i < s.alphas.size(); ++i) {
    MTMAP_CHECK(std::isfinite(s.alphas[i]) && s.alphas[i] >= 0 && s.alphas[i] <= 1e6, "{}.alphas[{}] = {} (need ≥ 0)",
                k, i, s.alphas[i]);
    MTMAP_CHECK(seen_alpha.insert(s.alphas[i]).second, "{}.alphas[{}] = {} is listed twice", k, i, s.alphas[i]);
  }
  if (!objectives.empty()) {
    s.objectives.clear();
    std::set<std::string> seen;
    for (size_t i = 0; i < objectives.size(); ++i) {
      const std::string key = fmt::format("{}.objectives[{}]", k, i);
      s.objectives.push_back(parse_objective(objectives[i], key));
      MTMAP_CHECK(seen.insert(objectives[i]).second, "{} = '{}' is listed twice", key, objectives[i]);
    }
  } else if (!j.is_null() && j.contains("objectives")) {
    MTMAP_FAIL("{}.objectives is empty (need some of: joint, contrastive, spatial)", k);
  }
  if (ablation_alpha) {
    MTMAP_CHECK(std::isfinite(*ablation_alpha) && *ablation_alpha > 0 && *ablation_alpha <= 1e6,
                "{}.ablation_alpha = {} (need > 0: the spatial objective has no loss at α = 0)", k, *ablation_alpha);
    MTMAP_CHECK(std::count(s.objectives.begin(), s.objectives.end(), training::Objective::spatial) == 1,
                "{}.ablation_alpha is set but study.objectives has no 'spatial'", k);
    s.ablation_alpha = ablation_alpha;
  }
  if (s.seeds.empty()) {
    MTMAP_CHECK(j.is_null() || !j.contains("seeds"), "{}.seeds is empty (need at least one seed)", k);
    s.seeds = {base.training.seed};
  }
  std::set<uint64_t> seen_seed;
  for (size_t i = 0; i < s.seeds.size(); ++i)
    MTMAP_CHECK(seen_seed.insert(s.seeds[i]).second, "{}.seeds[{}] = {} is listed twice", k, i, s.seeds[i]);
  return s;
}

// A sweep sets training.alpha; a per-block table would silently win over it.
void check_sweep_fits(const training::TrainConfig& base, const json& j, const std::string& o) {
  const bool sweeps_alpha = j.is_object() && j.contains("alphas");
  MTMAP_CHECK(!sweeps_alpha || base.training.alpha_per_block.empty(),
              "{}.study.alphas sweeps training.alpha, but training.alpha_per_block fixes α for {} block(s); use one or "
              "the other",
              o, base.training.alpha_per_block.size());
}

}  // namespace

std::string run_label(training::Objective objective, double alpha, uint64_t seed) {
  if (objective == training::Objective::contrastive) return fmt::format("contrastive-s{}", seed);
  return fmt::format("{}-a{:g}-s{}", training::objective_name(objective), alpha, seed);
}

Study study_from_json(const json& j, const std::string& path) {
  const Experiment e = split_experiment(j, path);
  Study st;
  st.path = path;
  st.base_train = training::train_config_from_json(e.train, path);
  try {
    st.base_analysis = analysis::config_from_json(e.analysis, path);
  } catch (const Error& err) {
    const std::string what = err.what();
    if (what.starts_with(path)) throw;
    MTMAP_FAIL("{}: {}", path, what);  // the analysis' range checks say "config <key>"
  }
  MTMAP_CHECK(!e.analysis.contains("run"),
              "{}.run: mtmap run names each run itself (label, α, seed, objective from the study section); remove the "
              "run section",
              path);
  for (size_t i = 0; i < st.base_train.data.paths.size(); ++i) {
    std::error_code ec;
    MTMAP_CHECK(fs::exists(st.base_train.data.paths[i], ec), "{}.data.paths[{}] = '{}': no such file or folder", path,
                i, st.base_train.data.paths[i]);
  }
  st.spec = parse_spec(e.study, path, st.base_train);
  check_sweep_fits(st.base_train, e.study, path);

  // Conditions in a fixed order: the objectives as listed, α ascending within each.
  struct Condition {
    training::Objective objective;
    double alpha;
  };
  std::vector<Condition> conditions;
  std::vector<double> alphas = st.spec.alphas;
  std::sort(alphas.begin(), alphas.end());
  for (training::Objective ob : st.spec.objectives) {
    if (ob == training::Objective::contrastive) {
      conditions.push_back({ob, 0});
    } else if (ob == training::Objective::spatial && st.spec.ablation_alpha) {
      conditions.push_back({ob, *st.spec.ablation_alpha});
    } else {
      for (double a : alphas)
        if (ob == training::Objective::joint || a > 0) conditions.push_back({ob, a});
    }
  }
  MTMAP_CHECK(!conditions.empty(),
              "{}.study: no run (the spatial objective needs an α > 0 in study.alphas or study.ablation_alpha)", path);

  for (uint64_t seed : st.spec.seeds) {
    for (const Condition& cond : conditions) {
      RunSpec r;
      r.objective = cond.objective;
      r.alpha = cond.alpha;
      r.seed = seed;
      r.label = run_label(cond.objective, cond.alpha, seed);
      json tj = e.train;
      tj["training"]["seed"] = seed;
      tj["training"]["objective"] = training::objective_name(cond.objective);
      tj["training"]["alpha"] = cond.alpha;  // 0 for the contrastive objective, which has no α
      try {
        r.train = training::train_config_from_json(tj, path);
      } catch (const Error& err) {
        MTMAP_FAIL("{} (in run {}, from the study section)", err.what(), r.label);
      }
      r.analysis = st.base_analysis;
      r.analysis.run.label = r.label;
      r.analysis.run.alpha = cond.alpha;
      r.analysis.run.seed = int(seed);
      r.analysis.run.objective = training::objective_name(cond.objective);
      st.runs.push_back(std::move(r));
    }
  }
  return st;
}

Study read_study(const std::string& path) { return study_from_json(formats::read_json_file(path), path); }

json Study::resolved() const {
  json j = training::train_config_to_json(base_train);
  const json a = analysis::config_to_json(base_analysis);
  for (const auto& [key, value] : a.items())
    if (key != "run" && !j.contains(key)) j[key] = value;
  std::vector<std::string> objectives;
  for (training::Objective o : spec.objectives) objectives.push_back(training::objective_name(o));
  j["study"] = {{"name", spec.name},   {"alphas", spec.alphas},   {"objectives", objectives},
                {"seeds", spec.seeds}, {"analyse", spec.analyse}, {"notes", spec.notes}};
  if (spec.ablation_alpha) j["study"]["ablation_alpha"] = *spec.ablation_alpha;
  return j;
}

}  // namespace mtmap::study
