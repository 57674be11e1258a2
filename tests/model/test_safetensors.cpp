// safetensors: round trips of every dtype, module state, and a named error for every corruption.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/nn/layers.h"
#include "formats/safetensors.h"
#include "models/resnet3d.h"
#include "tests/test_support.h"

using namespace mtmap;
using Catch::Contains;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mtmap_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string with_header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((json.size() >> (8 * i)) & 0xff);
  return out + json + data;
}

}  // namespace

TEST_CASE("safetensors round trip of every dtype, with metadata", "[safetensors]") {
  std::string path = temp_path("roundtrip.safetensors");
  std::vector<std::pair<std::string, Tensor>> ts;
  const DType all[] = {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64, DType::u8};
  for (DType t : all) ts.emplace_back(std::string("t") + dtype_name(t), from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}, t));
  ts.emplace_back("scalar", scalar_tensor(7.5, DType::f64));
  ts.emplace_back("empty", zeros({0, 3}));
  formats::save_safetensors(path, ts, {{"format", "pt"}, {"step", "12"}});
  formats::SafetensorsFile f = formats::load_safetensors(path);
  REQUIRE(f.tensors.size() == ts.size());
  for (const auto& [name, t] : ts) {
    const Tensor& got = f.at(name);
    CHECK(got.dtype() == t.dtype());
    CHECK(got.shape() == t.shape());
    CHECK(got.to_vector<double>() == t.to_vector<double>());
  }
  CHECK(f.metadata.at("step") == "12");
  CHECK_THROWS_WITH(f.at("nope"), Contains("'nope'"));
  std::filesystem::remove(path);
}

TEST_CASE("safetensors corruption gets a named error", "[safetensors]") {
  std::string path = temp_path("bad.safetensors");
  CHECK_THROWS_WITH(formats::load_safetensors(path + ".missing"), Contains(".missing"));
  write_bytes(path, "abc");
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("too short") && Contains(path));
  write_bytes(path, with_header("{\"a\":", ""));
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("not valid JSON"));
  std::string ok_json = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  write_bytes(path, with_header(ok_json, std::string(4, '\0')));
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("'w'") && Contains("truncated"));
  write_bytes(path, with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("'w'") && Contains("12 bytes"));
  write_bytes(path, with_header(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", std::string(2, '\0')));
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("unsupported dtype"));
  write_bytes(path, with_header(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                                std::string(6, '\0')));
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("overlap"));
  // What the fuzz target guards (fuzz/corpus/safetensors): a shape whose element count overflows, and
  // tensors that share a range to claim more bytes than the file has, are errors before allocating.
  write_bytes(path, with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                                std::string(8, '\0')));
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("'w'") && Contains("impossible shape"));
  write_bytes(path, with_header(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                                std::string(4, '\0')));
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("claim 8 bytes but the data has 4"));
  std::string huge(8, '\xff');
  write_bytes(path, huge + "{}");
  CHECK_THROWS_WITH(formats::load_safetensors(path), Contains("header length"));
  std::filesystem::remove(path);
}

TEST_CASE("a model's state saves and loads, a failed save leaves the old file intact", "[safetensors]") {
  std::string path = temp_path("model.safetensors");
  Generator g1(21), g2(22);
  models::ResNet3dConfig c;
  c.width = 2;
  models::ResNet3d a(c, g1), b(c, g2);
  a.named_buffers()[1].tensor.data<float>()[0] = 3.25f;  // a running statistic
  formats::save_module(path, a);
  std::string saved = read_bytes(path);
  formats::load_module(path, b);
  auto pa = a.named_parameters(), pb = b.named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) CHECK(pa[i].tensor.to_vector<float>() == pb[i].tensor.to_vector<float>());
  CHECK(b.named_buffers()[1].tensor.to_vector<float>()[0] == 3.25f);
  // Strict loading names what does not fit.
  models::ResNet3dConfig wider = c;
  wider.width = 4;
  models::ResNet3d w(wider, g1);
  CHECK_THROWS_WITH(formats::load_module(path, w), Contains("stem.0.weight") && Contains("[4, 3, 3, 7, 7]"));
  nn::Linear lin(2, 2, true, g1);
  CHECK_THROWS_WITH(formats::load_module(path, lin), Contains("'weight'"));
  // Saving into a folder that cannot be made (its name is a file's) fails with its path and leaves
  // the old file alone (a missing folder is made: formats/atomic_file.h).
  CHECK_THROWS_WITH(formats::save_module(path + "/x.safetensors", a), Contains(path + "/x.safetensors"));
  CHECK(read_bytes(path) == saved);
  std::filesystem::remove(path);
}
