// Writes the synthetic inputs the command-line tests run on (ground truth by construction):
//   planted_units.csv/.npy  units sampled from a map with 4 planted pinwheels (+2, −2)
//   map_config.json         a config for that map; bad_config.json has an unknown key
//   bad_nan.csv, bad_columns.csv  malformed unit tables
//   responses_<run>.npy, baseline_<run>.npy, positions.csv  an α sweep × 2 seeds of response arrays
//     (units × 16 directions × 2 SF × 1 TF × 2 phases) whose tuning sharpens with α.
#include <filesystem>
#include <fstream>
#include <random>

#include "formats/npy.h"
#include "analysis/unit_table.h"
#include "tests/analysis/planted_maps.h"
#include "tests/analysis/von_mises.h"

using namespace mtmap::analysis;
using namespace mtmap::formats;
using namespace mtmap::analysis::testing;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path d = argv[1];
  fs::create_directories(d);

  const std::vector<Planted> planted = {{1.03, 1.07, +1}, {2.91, 1.21, -1}, {1.52, 2.88, -1}, {3.02, 3.13, +1}};
  Table t;
  t.names = {"unit", "x_mm", "y_mm", "preferred_direction_deg", "weight"};
  t.columns.assign(5, {});
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> jitter(-0.012, 0.012);
  const double s = 0.04;
  for (int iy = 0; iy <= 100; ++iy)
    for (int ix = 0; ix <= 100; ++ix) {
      const double x = ix * s + jitter(rng), y = iy * s + jitter(rng);
      t.columns[0].push_back(double(t.columns[0].size()));
      t.columns[1].push_back(x);
      t.columns[2].push_back(y);
      t.columns[3].push_back(std::arg(planted_field(x, y, planted)) * 180 / kPi);
      t.columns[4].push_back(1.0);
    }
  write_csv((d / "planted_units.csv").string(), t);
  write_npy_table((d / "planted_units.npy").string(), t);
  std::ofstream(d / "map_config.json")
      << R"({"map": {"smoothing_width_mm": 0.08, "grid_spacing_mm": 0.04, "density_widths_mm": [0.08, 0.16]},
  "stats": {"smoothness_sample_units": 300}})";
  std::ofstream(d / "bad_config.json") << R"({"map": {"smoothing_mm": 0.1}})";
  std::ofstream(d / "bad_nan.csv") << "x_mm,y_mm,preferred_direction_deg\n0,0,10\n0.5,0.5,20\n1,1,nan\n";
  std::ofstream(d / "bad_columns.csv") << "x_mm,y_mm,orientation_deg\n0,0,10\n";

  // α sweep: 30 × 30 units, 0.08 mm apart; preferred directions from a random-wave map (Λ = 0.8 mm)
  // plus scatter that shrinks with α; κ grows with α; one unit in five untuned.
  const int side = 30, units = side * side;
  {
    std::ofstream pos(d / "positions.csv");
    pos << "x_mm,y_mm\n";
    for (int u = 0; u < units; ++u) pos << (u % side) * 0.08 << "," << (u / side) * 0.08 << "\n";
  }
  for (double alpha : {0.0, 0.5, 1.25})
    for (int seed : {1, 2}) {
      std::mt19937_64 r(seed * 100 + static_cast<int>(alpha * 10));
      std::normal_distribution<double> noise(0, 1);
      const WaveField f = random_waves(20, 0.8, seed);
      const double scatter = 60.0 / (1 + 2 * alpha), kappa = 0.8 + 1.2 * alpha;
      std::vector<double> resp, base;
      for (int u = 0; u < units; ++u) {
        const double x = (u % side) * 0.08, y = (u / side) * 0.08;
        const double mu = std::arg(f(x, y)) * 180 / kPi + scatter * noise(r);
        const bool tuned = u % 5 != 0;
        base.push_back(0.2);
        for (int dir = 0; dir < 16; ++dir)
          for (int sf = 0; sf < 2; ++sf)
            for (int ph = 0; ph < 2; ++ph)
              resp.push_back(0.2 + (sf == 0 ? 1.0 : 0.4) * (tuned ? vm(22.5 * dir, mu, kappa) : 0.5) +
                             0.05 * (ph == 0 ? 1 : -1));
      }
      const std::string name = "a" + std::to_string(alpha).substr(0, 4) + "_s" + std::to_string(seed);
      write_npy((d / ("responses_" + name + ".npy")).string(), {size_t(units), 16, 2, 1, 2}, resp);
      write_npy((d / ("baseline_" + name + ".npy")).string(), {size_t(units)}, base);
    }
  return 0;
}
