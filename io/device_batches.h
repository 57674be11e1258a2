#pragma once
// Training batches of dead leaves made on a CUDA device, so a GPU trains on generated video with
// no files and no host-to-device copies of pixels (docs/data.md, "Generated on the GPU").
//  - The host does what is cheap and sequential: the epoch's order and each sample's randomness
//    (io/loader.h's epoch_order and sample_rng, so batch b holds the samples the CPU loader's
//    batch b holds), the scene of each video (a few hundred leaves), the clip offsets and the
//    augmentation parameters (DeadLeavesPairSource::plan), and the crop's taps.
//  - The device does the pixels, on the compute stream of the thread's execution context: the
//    videos (kernels/cuda/dead_leaves.cu), then every clip of the batch cut, augmented and
//    normalised at once (kernels/cuda/augment.cu).
// The result equals the CPU loader's batch but for the renderer's texture sine (a level now and
// then) and the contrast's reference grey (a sum in another order): tests/io/test_device_batches.cpp.
#include <memory>

#include "engine/core/device.h"
#include "io/batch_stream.h"
#include "io/loader.h"
#include "io/pair_source.h"

namespace mtmap::io {

// The device batches of `source` (a DeadLeavesPairSource; anything else is an error naming it),
// batched, sharded and seeded as `options` say for a Loader (workers, prefetch and the host
// allocator do not apply), made on `device` (a CUDA device; the CPU or a build without CUDA is an
// error naming the device). `source` must outlive the stream.
std::unique_ptr<BatchStream> make_device_batches(const PairSource& source, const LoaderOptions& options,
                                                 const Device& device);

// The CPU loader's batches of any source (video files too) delivered to a CUDA device through the
// CUDA feeder (io/cuda_feeder.h): the loader's slots pinned, each batch copied on the copy stream
// while the compute stream works, the compute stream (not the host) waiting for the copy. A batch
// is valid until the call after next. The CPU or a build without CUDA is an error naming the device.
std::unique_ptr<BatchStream> make_cuda_fed_batches(PairSource& source, LoaderOptions options, const Device& device);

}  // namespace mtmap::io
