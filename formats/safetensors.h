#pragma once
// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {…}}, then the raw
// little-endian data. The format PyTorch, JAX and others read, so checkpoints move both ways.
#include <istream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor/tensor.h"

namespace mtmap::formats {

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order, CPU
  std::map<std::string, std::string> metadata;
  const Tensor& at(const std::string& name) const;     // throws naming the missing tensor
  bool contains(const std::string& name) const;
};

// Writes to `path` atomically (formats/atomic_file.h): a failed write (a full disk, a read-only
// folder) is an error naming the file and the reason, and an existing file is never left
// half-written. Tensors may live on any device (copied to the host).
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Reads and validates the whole file; every problem names the file and, where it applies, the tensor.
SafetensorsFile load_safetensors(const std::string& path);
// The same from a seekable stream (`origin` names it in messages): the one parser behind the path
// version, also what the fuzz target (fuzz/fuzz_safetensors.cpp) feeds bytes to.
SafetensorsFile load_safetensors(std::istream& in, const std::string& origin);

// A module's parameters and buffers by their dotted names.
void save_module(const std::string& path, const nn::Module& module, const std::map<std::string, std::string>& metadata = {});
// Copies a file's tensors into the module's parameters and buffers (converting the dtype).
// strict: every parameter and buffer must be in the file and every tensor of the file must be used.
void load_module(const std::string& path, nn::Module& module, bool strict = true);
// The same from a file already read (`origin` names it in messages); tensors whose names start with
// one of `skip_prefixes` are not the module's and are left alone even when strict.
void load_module(const SafetensorsFile& file, const std::string& origin, nn::Module& module, bool strict,
                 const std::vector<std::string>& skip_prefixes = {});

}  // namespace mtmap::formats
