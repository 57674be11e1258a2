#include "training/key_exchange.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "engine/autograd/grad_mode.h"
#include "engine/core/fnv_hash.h"
#include "engine/ops/index.h"
#include "engine/random/generator.h"

namespace mtmap::training {

KeyShuffle key_shuffle(int64_t total, uint64_t seed, int64_t step) {
  MTMAP_CHECK(total >= 1, "key shuffle of {} keys", total);
  Generator gen(fnv1a64(fmt::format("shuffle-bn seed {} step {}", seed, step)));
  KeyShuffle s;
  s.perm = randperm(total, gen);
  const std::vector<int64_t> perm = s.perm.to_vector<int64_t>();
  std::vector<int64_t> inv(static_cast<size_t>(total));
  for (int64_t j = 0; j < total; ++j) inv[size_t(perm[size_t(j)])] = j;
  s.inverse = from_vector(inv, {total});
  return s;
}

Keys encode_keys(models::ResNet3d& key, const Tensor& x, dist::Communicator* comm, bool shuffle, uint64_t seed,
                 int64_t step) {
  autograd::NoGradGuard no_grad;
  Keys k;
  if (!comm || comm->size() == 1) {
    k.local = key.forward(x).embedding.detach();
    k.all = k.local;
    return k;
  }
  const int64_t n = x.size(0), ranks = comm->size(), rank = comm->rank();
  if (!shuffle) {
    k.local = key.forward(x).embedding.detach().contiguous();
    k.all = comm->all_gather(k.local);
    return k;
  }
  // Position p of the permuted global batch holds sample perm[p] (sample g is rank g / n's clip
  // g % n), and rank d encodes positions d·n … d·n + n − 1. Each clip goes straight to the rank
  // that encodes it (one all-to-all, n clips per rank) rather than every clip to every rank.
  const KeyShuffle s = key_shuffle(n * ranks, seed, step);
  const std::vector<int64_t> perm = s.perm.to_vector<int64_t>(), inv = s.inverse.to_vector<int64_t>();
  std::vector<int64_t> order(static_cast<size_t>(n));  // this rank's clips by their position: grouped by rank
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return inv[size_t(rank * n + a)] < inv[size_t(rank * n + b)]; });
  std::vector<int64_t> send_rows(size_t(ranks), 0), recv_rows(size_t(ranks), 0);
  for (int64_t i = 0; i < n; ++i) ++send_rows[size_t(inv[size_t(rank * n + i)] / n)];
  for (int64_t j = 0; j < n; ++j) ++recv_rows[size_t(perm[size_t(rank * n + j)] / n)];
  const Tensor sent = index_select(x, 0, from_vector(order, {n}).to(x.device())).contiguous();
  const Tensor received = comm->all_to_all(sent, send_rows, recv_rows);  // by source rank, then position
  std::vector<int64_t> first(size_t(ranks), 0), seen(size_t(ranks), 0), row_of(static_cast<size_t>(n));
  for (int64_t src = 1; src < ranks; ++src) first[size_t(src)] = first[size_t(src - 1)] + recv_rows[size_t(src - 1)];
  for (int64_t j = 0; j < n; ++j) {
    const int64_t src = perm[size_t(rank * n + j)] / n;
    row_of[size_t(j)] = first[size_t(src)] + seen[size_t(src)]++;
  }
  const Tensor chunk = index_select(received, 0, from_vector(row_of, {n}).to(x.device()));
  const Tensor encoded = key.forward(chunk).embedding.detach().contiguous();
  // Every rank needs every key (the queue): the encodings, small, are gathered in position order;
  // sample g's key is row inverse[g].
  k.all = index_select(comm->all_gather(encoded), 0, s.inverse.to(x.device()));
  k.local = k.all.narrow(0, rank * n, n);
  return k;
}

}  // namespace mtmap::training
