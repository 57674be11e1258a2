#!/usr/bin/env python3
"""FLOPs of one r3d-18 training step (forward, input gradients except the stem's, weight gradients),
nominal (every filter tap) and effective (only taps that read real input, not zero padding: what a
kernel that skips padded taps computes). The yardstick for what a CPU training step can reach:
divide by the measured FMA peak (`mtmap bench` prints it).

  tools/conv_flops.py [--width 16] [--frames 8] [--size 64] [--batch 16] [--clips-per-s X ...]
"""
import argparse


def valid_taps(o, stride, pad, extent, taps):
    start = o * stride - pad
    return sum(1 for t in range(taps) if 0 <= start + t < extent)


def conv(n, c, k, dhw, kernel, stride, pad):
    out = [(x + 2 * p - t) // s + 1 for x, t, s, p in zip(dhw, kernel, stride, pad)]
    nominal = 2 * n * k * c
    effective = 2 * n * k * c
    for x, t, s, p, o in zip(dhw, kernel, stride, pad, out):
        nominal *= o * t
        effective *= sum(valid_taps(i, s, p, x, t) for i in range(o))
    return nominal, effective


def layers(width, frames, size, batch):
    """(name, (nominal, effective), count, has input gradient) for each distinct convolution."""
    out = [("stem", conv(batch, 3, width, (frames, size, size), (3, 7, 7), (1, 2, 2), (1, 3, 3)), 1, False)]
    d, h, c = frames, size // 2, width
    out.append(("layer1", conv(batch, c, c, (d, h, h), (3, 3, 3), (1, 1, 1), (1, 1, 1)), 4, True))
    for s in range(1, 4):
        k = width << s
        out.append((f"layer{s+1}.0.conv1", conv(batch, c, k, (d, h, h), (3, 3, 3), (2, 2, 2), (1, 1, 1)), 1, True))
        out.append((f"layer{s+1}.0.downsample", conv(batch, c, k, (d, h, h), (1, 1, 1), (2, 2, 2), (0, 0, 0)), 1, True))
        d, h, c = (d + 1) // 2, (h + 1) // 2, k
        out.append((f"layer{s+1}", conv(batch, k, k, (d, h, h), (3, 3, 3), (1, 1, 1), (1, 1, 1)), 3, True))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--clips-per-s", type=float, nargs="*", default=[])
    a = ap.parse_args()
    total_nominal = total_effective = 0
    for name, (nominal, effective), count, dgrad in layers(a.width, a.frames, a.size, a.batch):
        passes = 3 if dgrad else 2
        total_nominal += nominal * count * passes
        total_effective += effective * count * passes
        print(f"{name:22s} x{count}  {nominal / 1e9:7.3f} GFLOP per pass, {effective / 1e9:7.3f} effective "
              f"({effective / nominal:.2f})")
    print(f"training step: {total_nominal / 1e9:.2f} GFLOP nominal, {total_effective / 1e9:.2f} GFLOP effective "
          f"(batch {a.batch})")
    for cps in a.clips_per_s:
        print(f"{cps:g} clips/s needs {total_nominal / 1e9 * cps / a.batch:.0f} GFLOP/s nominal, "
              f"{total_effective / 1e9 * cps / a.batch:.0f} GFLOP/s effective")


if __name__ == "__main__":
    main()
