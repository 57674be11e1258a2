#!/usr/bin/env python3
"""Data-parallel scaling model for the full-scale MoCo + spatial training step (docs/perf/scaling.md).

Per step each rank computes on its share of the global batch, then waits for what the network
cannot hide:
  - the gradient all-reduce (ring: each rank moves 2(n-1)/n of the gradient; at NCCL's bus
    bandwidth B the time is bytes * 2(n-1)/n / B, nccl-tests' definition of busbw);
  - shuffle-BN's clip exchange before the key encoder (an all-to-all: each rank sends the
    (n-1)/n of its clips other ranks encode) and the gather of the keys (small);
With overlap the buckets' all-reduces run under the backward pass (a fraction of the step) and
only what is left over, plus the last bucket (the first layers, ready last), shows.

Every input is a flag; the defaults are the ones docs/perf/scaling.md states and cites.
    tools/scaling_model.py [--tflops 150] [--batch-per-gpu 32] ...
"""
import argparse


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", type=float, default=33.4e6, help="parameters of r3d-18 with the MoCo head")
    p.add_argument("--grad-bytes-per-param", type=float, default=4, help="fp32 gradients (4) or bf16 (2)")
    p.add_argument("--tflop-per-clip", type=float, default=0.33,
                   help="one clip's MoCo step: query forward+backward and key forward at 16x112x112")
    p.add_argument("--tflops", type=float, nargs="+", default=[150, 50],
                   help="sustained TFLOP/s of one GPU on the whole step (one row block each)")
    p.add_argument("--batch-per-gpu", type=int, default=32, help="weak scaling: clips per GPU at every size")
    p.add_argument("--global-batch", type=int, default=0,
                   help="strong scaling instead: this global batch split over the GPUs (the preprint's 256)")
    p.add_argument("--clip-bytes", type=float, default=3 * 16 * 112 * 112 * 4,
                   help="one key clip as the loader makes it (float32)")
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--gpus-per-node", type=int, default=8)
    p.add_argument("--busbw-intra", type=float, default=400, help="GB/s, NVLink inside a node")
    p.add_argument("--busbw-inter", type=float, nargs="+", default=[350, 35],
                   help="GB/s across nodes: rail-optimised NDR InfiniBand, and a thin network")
    p.add_argument("--bucket-mib", type=float, default=25)
    p.add_argument("--backward-fraction", type=float, default=2 / 3, help="share of the step that is backward")
    p.add_argument("--ranks", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    a = p.parse_args()

    grad = a.params * a.grad_bytes_per_param
    split = f"a global batch of {a.global_batch}" if a.global_batch else f"{a.batch_per_gpu} clips per GPU"
    print(f"gradient {grad / 1e6:.0f} MB, {split}, buckets of {a.bucket_mib:g} MiB, "
          f"backward {a.backward_fraction:.2f} of the step\n")
    for tflops in a.tflops:
        print(f"### {tflops:g} TFLOP/s per GPU ({tflops / a.tflop_per_clip:.0f} clips/s)\n")
        print("| GPUs | clips per GPU | step ms | network (busbw GB/s) | all-reduce ms | clip exchange ms | "
              "efficiency, no overlap | efficiency, overlapped |")
        print("|---:|---:|---:|---|---:|---:|---:|---:|")
        for n in a.ranks:
            per_gpu = a.global_batch / n if a.global_batch else a.batch_per_gpu
            step = per_gpu * a.tflop_per_clip / tflops  # seconds
            inters = [None] if n <= a.gpus_per_node else a.busbw_inter
            for inter in inters:
                bw = (a.busbw_intra if inter is None else inter) * 1e9
                allreduce = grad * 2 * (n - 1) / n / bw
                # all-to-all: (n-1)/n of the clips leave each rank; the keys' gather is n*N*D*4 bytes.
                exchange = (per_gpu * a.clip_bytes * (n - 1) / n + n * per_gpu * a.embed_dim * 4) / bw
                plain = step / (step + allreduce + exchange)
                last_bucket = min(grad, a.bucket_mib * 2**20) * 2 * (n - 1) / n / bw
                exposed = max(0.0, allreduce - a.backward_fraction * step) + last_bucket
                overlapped = step / (step + exposed + exchange)
                net = f"NVLink ({a.busbw_intra:g})" if inter is None else f"{n // a.gpus_per_node} nodes ({inter:g})"
                print(f"| {n} | {per_gpu:g} | {step * 1e3:.1f} | {net} | {allreduce * 1e3:.2f} | {exchange * 1e3:.2f} | {plain:.1%} | {overlapped:.1%} |")
        print()


if __name__ == "__main__":
    main()
