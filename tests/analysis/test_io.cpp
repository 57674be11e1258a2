// Unit tables in and out: CSV and .npy, errors that name the file, line/row and column; PNG.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "formats/npy.h"
#include <sstream>
#include "formats/png_image.h"
#include "analysis/unit_table.h"
#include "engine/core/error.h"

using namespace mtmap::analysis;
using namespace mtmap::formats;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("mtmap_test_io_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::string write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
  return p.string();
}

}  // namespace

TEST_CASE("CSV unit tables: columns by name, aliases, optional weight", "[analysis][io]") {
  const fs::path d = temp_dir();
  const auto f = write(d / "a.csv", "# comment\nunit,x_mm,y_mm,preferred_direction_deg,weight\n0,0.1,0.2,45,0.5\n1,1e-1,3,-90,1\n");
  const MapUnits u = read_map_units(f, false);
  REQUIRE(u.size() == 2);
  CHECK(u.x_mm[1] == 0.1);
  CHECK(u.y_mm[1] == 3.0);
  CHECK(u.theta_deg[1] == -90.0);
  CHECK(u.weight[0] == 0.5);
  const auto g = write(d / "b.csv", "x,y,theta_deg\n0,0,10\n1,1,20\n");
  const MapUnits v = read_map_units(g, false);
  CHECK(v.weight == std::vector<double>{1.0, 1.0});
  CHECK(v.theta_deg[1] == 20.0);
}

TEST_CASE("Malformed CSV tables are rejected naming file, line and column", "[analysis][io]") {
  const fs::path d = temp_dir();
  const auto text = write(d / "text.csv", "x_mm,y_mm,preferred_direction_deg\n0,0,10\n1,one,20\n");
  CHECK_THROWS_WITH(read_map_units(text, false), Catch::Contains("text.csv:3: column 'y_mm': 'one' is not a number"));
  const auto ragged = write(d / "ragged.csv", "x_mm,y_mm,preferred_direction_deg\n0,0\n");
  CHECK_THROWS_WITH(read_map_units(ragged, false), Catch::Contains("ragged.csv:2: 2 fields, the header has 3"));
  const auto missing = write(d / "missing.csv", "x_mm,y_mm,orientation\n0,0,1\n");
  CHECK_THROWS_WITH(read_map_units(missing, false),
                    Catch::Contains("missing.csv: no column preferred_direction_deg or theta_deg"));
  const auto nan = write(d / "nan.csv", "x_mm,y_mm,preferred_direction_deg\n0,0,10\n1,1,nan\n2,2,30\n");
  CHECK_THROWS_WITH(read_map_units(nan, false),
                    Catch::Contains("nan.csv: row 2 (unit 1), column 'preferred_direction_deg' is nan"));
  int dropped = -1;
  CHECK(read_map_units(nan, true, &dropped).size() == 2);
  CHECK(dropped == 1);
  const auto empty = write(d / "empty.csv", "x_mm,y_mm,preferred_direction_deg\n");
  CHECK_THROWS_WITH(read_map_units(empty, false), Catch::Contains("empty.csv: the unit table has no rows"));
  const auto nothing = write(d / "nothing.csv", "");
  CHECK_THROWS_WITH(read_map_units(nothing, false), Catch::Contains("no header row"));
  const auto twice = write(d / "twice.csv", "x_mm,x_mm\n");
  CHECK_THROWS_WITH(read_csv(twice), Catch::Contains("'x_mm' appears twice"));
  const auto negative = write(d / "neg.csv", "x_mm,y_mm,preferred_direction_deg,weight\n0,0,1,-2\n");
  CHECK_THROWS_WITH(read_map_units(negative, false), Catch::Contains("column 'weight' is negative"));
}

TEST_CASE(".npy: plain and structured arrays round-trip, numpy headers are parsed", "[analysis][io]") {
  const fs::path d = temp_dir();
  const std::vector<double> v = {0.5, 1.5, 45, 2, 3.25, 4.5, 90, 1};
  write_npy((d / "plain.npy").string(), {2, 4}, v);
  const NpyArray a = read_npy((d / "plain.npy").string());
  CHECK(a.shape == std::vector<size_t>{2, 4});
  CHECK(a.data == v);
  const MapUnits u = read_map_units((d / "plain.npy").string(), false);
  CHECK(u.theta_deg == std::vector<double>{45, 90});
  CHECK(u.weight == std::vector<double>{2, 1});

  write_npy_records((d / "rec.npy").string(), {"y_mm", "x_mm", "preferred_direction_deg"}, {{1, 2}, {3, 4}, {5, 6}});
  const MapUnits r = read_map_units((d / "rec.npy").string(), false);
  CHECK(r.x_mm == std::vector<double>{3, 4});
  CHECK(r.y_mm == std::vector<double>{1, 2});

  // A float32 file as numpy writes it (version 1.0 header, padded to 64 bytes).
  {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    std::ofstream out(d / "f4.npy", std::ios::binary);
    const uint16_t len = dict.size();
    out.write("\x93NUMPY\x01\x00", 8);
    out.write(reinterpret_cast<const char*>(&len), 2);
    out << dict;
    const float f[3] = {1.5f, -2.0f, 0.25f};
    out.write(reinterpret_cast<const char*>(f), sizeof f);
  }
  CHECK(read_npy((d / "f4.npy").string()).data == std::vector<double>{1.5, -2.0, 0.25});
  write(d / "junk.npy", "not numpy");
  CHECK_THROWS_WITH(read_npy((d / "junk.npy").string()), Catch::Contains("junk.npy: not a .npy file"));
  write_npy((d / "three.npy").string(), {2, 2, 2}, std::vector<double>(8, 0.0));
  CHECK_THROWS_WITH(read_map_units((d / "three.npy").string(), false), Catch::Contains("must be 2-D"));
}

TEST_CASE(".npy: headers that ask for the impossible are errors naming the file, before any allocation",
          "[analysis][io]") {
  // What writing the fuzz target found (fuzz/regressions/npy): a header must not make the reader
  // allocate what the file does not hold, overflow the element count, or recurse through a long header.
  auto npy = [](const std::string& dict, const std::string& data = "") {
    std::string h = dict + "\n";
    const uint16_t len = uint16_t(h.size());
    return std::string("\x93NUMPY\x01\x00", 8) + std::string(reinterpret_cast<const char*>(&len), 2) + h + data;
  };
  auto error = [](const std::string& bytes) {
    std::istringstream in(bytes);
    try {
      (void)read_npy(in, "x.npy");
    } catch (const mtmap::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }")),
             Catch::Contains("x.npy: shape (1000000000000, 1000000000000) of 8-byte records needs more data"));
  CHECK_THAT(error(npy("{'descr': '<f8', 'shape': (99999999999999999999999,), }")),
             Catch::Contains("impossible dimension"));
  CHECK_THAT(error(npy("{'descr': '<f99999999999', 'shape': (1,), }")), Catch::Contains("unsupported dtype"));
  CHECK_THAT(error(npy("{'descr': '<f8', 'shape': (2,), }", std::string(8, '\0'))), Catch::Contains("needs more data"));
  std::string long_descr = "{'shape': (1,), 'descr': [" + std::string(60000, 'x') + "]}";
  CHECK_THAT(error(npy(long_descr)), Catch::Contains("no readable fields"));
  // A version-2 header length larger than the file.
  std::string v2 = std::string("\x93NUMPY\x02\x00", 8) + std::string("\xff\xff\xff\x7f", 4) + "{}";
  CHECK_THAT(error(v2), Catch::Contains("header of 2147483647 bytes"));
  // An empty array with a huge other axis is fine.
  std::istringstream empty(npy("{'descr': '<f8', 'shape': (0, 1000000000000000), }"));
  CHECK(read_npy(empty, "empty.npy").data.empty());
}

TEST_CASE("PNG round trip and the cyclic colour map", "[analysis][io]") {
  const fs::path d = temp_dir();
  Image img(7, 5, {10, 20, 30});
  img.set(3, 2, {200, 100, 50});
  write_png((d / "x.png").string(), img);
  const Image back = read_png((d / "x.png").string());
  CHECK(back.width() == 7);
  CHECK(back.height() == 5);
  CHECK(back.pixels() == img.pixels());
  CHECK(cyclic_colour(0.0) == cyclic_colour(1.0));   // 360° wraps
  CHECK(cyclic_colour(0.25) == cyclic_colour(-0.75));
  CHECK_FALSE(cyclic_colour(0.0) == cyclic_colour(0.5));
}
