#include "bench/moco_bench.h"

#include <map>

#include "bench/timing.h"
#include "cortex/sheet.h"
#include "engine/random/generator.h"
#include "training/initial_model.h"
#include "training/moco.h"

namespace mtmap::bench {

MocoBenchResult run_moco_bench(const MocoBenchConfig& c) {
  models::ModelSpec spec;
  spec.net.width = c.width;
  spec.frames = c.frames;
  spec.size = c.size;
  training::InitialModel m = training::init_model(spec, 1);
  training::TrainingConfig tc;
  tc.batch_size = int(c.batch);
  tc.queue_size = c.queue;
  tc.alpha = c.alpha;
  tc.precision = c.precision;
  MocoBenchResult result;
  std::vector<training::SpatialTerm> terms;
  Generator hoods(2);
  for (const models::SheetPositions& s : m.sheets) {
    training::SpatialTerm t{s.block, c.alpha, s.positions, cortex::neighbourhoods(s.positions, s.neighbourhood_mm, hoods)};
    result.window_units.emplace_back(s.block, t.neighbourhoods.size(1));
    terms.push_back(std::move(t));
  }
  Generator queue_gen(3), data(4), windows(5);
  for (training::SpatialTerm& t : terms) t.positions = t.positions.to(c.device);
  training::MocoTrainer trainer(m.net, tc, c.device, queue_gen);
  const Tensor q = randn({c.batch, 3, c.frames, c.size, c.size}, data).to(c.device);
  const Tensor k = randn({c.batch, 3, c.frames, c.size, c.size}, data).to(c.device);
  std::vector<double> totals;
  std::map<std::string, std::vector<double>> phases;
  std::vector<std::string> order;
  // The first step warms the allocator and the caches. On the CPU every step is timed by phase
  // too (that costs nothing there); on a GPU the phases come from extra steps of their own.
  const bool separate = !c.device.is_cpu();
  trainer.time_phases(!separate);
  for (int i = 0; i < c.reps + 1; ++i) {
    const auto a = std::chrono::steady_clock::now();
    const training::StepResult r = trainer.step(q, k, terms, windows, 1e-3, i + 1);  // reads the loss: synchronised
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    if (i > 0) totals.push_back(s);
    for (const auto& [name, sec] : r.phase_seconds) phases[name].push_back(sec);
    if (i == 0) phases.clear();
  }
  if (separate) {
    trainer.time_phases(true);
    for (int i = 0; i < c.reps; ++i)
      for (const auto& [name, sec] : trainer.step(q, k, terms, windows, 1e-3, i + 1).phase_seconds)
        phases[name].push_back(sec);
  }
  for (const char* name : {"ema", "key_forward", "query_forward", "losses", "backward", "sgd", "queue"})
    if (phases.count(name)) order.push_back(name);
  result.seconds = median(totals);
  for (const std::string& name : order) result.phases.emplace_back(name, median(phases[name]));
  return result;
}

}  // namespace mtmap::bench
