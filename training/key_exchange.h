#pragma once
// MoCo's keys across data-parallel ranks (He et al. 2020, §3.3 "Shuffling BN"; MODEL.md §5):
//  - shuffle-BN: the global batch of key clips is permuted by a permutation every rank draws alike
//    from (seed, step); each rank encodes one slice of the permuted batch (so the key encoder's
//    batch statistics mix samples of every rank and cannot tell the positive), its clips sent to
//    it by one all-to-all (N clips per rank, not the N·ranks of gathering them all, as MoCo's
//    reference code does); the encodings are gathered and put back in the original order;
//  - every rank then holds the keys of the whole global batch, in rank order, which it enqueues:
//    the queues of all ranks stay identical.
// With one process (no communicator) this is the key encoder's plain forward.
#include <cstdint>

#include "engine/dist/communicator.h"
#include "engine/tensor/tensor.h"
#include "models/resnet3d.h"

namespace mtmap::training {

struct KeyShuffle {
  Tensor perm;     // (total) i64 on the CPU: the permuted batch's row j is the global sample perm[j]
  Tensor inverse;  // inverse[perm[j]] = j
};

// The step's permutation of a global batch of `total` keys: a function of (seed, step) alone.
KeyShuffle key_shuffle(int64_t total, uint64_t seed, int64_t step);

struct Keys {
  Tensor local;  // (N, D): the keys of this rank's own clips (the positives of its queries)
  Tensor all;    // (N·ranks, D): every rank's keys in rank order (what is enqueued)
};

// Encodes this rank's key clips `x` (N, 3, T, S, S) with `key` under no gradient. `comm`: the
// data-parallel communicator on x's device, or null for one process. `shuffle`: shuffle-BN.
Keys encode_keys(models::ResNet3d& key, const Tensor& x, dist::Communicator* comm, bool shuffle, uint64_t seed,
                 int64_t step);

}  // namespace mtmap::training
