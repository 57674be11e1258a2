// The device batches in a build without the CUDA backend: every request names what is missing.
#include "io/device_batches.h"

namespace mtmap::io {

std::unique_ptr<BatchStream> make_device_batches(const PairSource&, const LoaderOptions&, const Device& device) {
  MTMAP_FAIL("device batches on {}: this build of mtmap has no CUDA backend (configure with MTMAP_WITH_CUDA=ON)",
             device.str());
}

std::unique_ptr<BatchStream> make_cuda_fed_batches(PairSource&, LoaderOptions, const Device& device) {
  MTMAP_FAIL("batches fed to {}: this build of mtmap has no CUDA backend (configure with MTMAP_WITH_CUDA=ON)",
             device.str());
}

}  // namespace mtmap::io
