#pragma once
// The Communicator over NCCL, for the tensors of one GPU per rank. Its collectives run on its own
// stream, ordered against the compute stream of the device's current execution context by events
// (the compute stream's work so far → the collective → later compute work), so an all-reduce of
// one gradient bucket overlaps the rest of the backward pass. Only compiled with NCCL
// (MTMAP_WITH_NCCL).
#include <memory>

#include "engine/dist/communicator.h"

namespace mtmap::dist {

// Every rank calls it with its own GPU (collective over `host`): rank 0 makes NCCL's unique id and
// `host` (the MPI world) carries it to the others. A null `host`: a group of one (this process
// alone; what the device tests check against no communicator at all). Throws naming the device when
// this build has no NCCL or `device` is not a usable GPU.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator* host, Device device);

}  // namespace mtmap::dist
