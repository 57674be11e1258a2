#!/usr/bin/env python3
"""The PyTorch peer for `mtmap bench`: the same conv3d layer shapes and training step, same thread
count, printed as JSON lines for the C++ side to read and put next to its own numbers.

  torch_bench.py --threads N --reps R [--width 16 --frames 8 --size 64 --batch 16]
                [--device cuda --step-only]
  torch_bench.py --threads N --reps R --moco M1,...,M8 [--queue 4096 --alpha 0.5 ...]
                the whole MoCo v2 training step with the spatial loss on the 8 blocks (windows of
                M_b units; mtmap bench passes its own window sizes) instead

With --moco the step is docs/training.md's: EMA of the key encoder, key forward without gradient,
query forward, InfoNCE against the queue, the relative spatial loss (docs/model.md §5) of one
random window per block at random sheet positions, backward, SGD with momentum and weight decay
(not on BN and biases), queue update.

With --device cuda (bench_train_step_cuda's peer) the training step runs on the GPU in float32 with
TF32 convolutions and exact float32 matmuls (as mtmap's), synchronised before each time is taken,
and reports the peak of torch.cuda.max_memory_allocated.

Exit status 77 when PyTorch is not installed.
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch_bench.py: PyTorch is not installed", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import torch_reference as ref  # noqa: E402  (the same model definition as the parity test)


def median_time(f, warmup, reps):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def layer_shapes(width, frames, size, batch):
    """(name, N, C, D, H, W, K, kernel, stride, pad) for each distinct convolution of r3d-18."""
    shapes = [("stem", batch, 3, frames, size, size, width, (3, 7, 7), (1, 2, 2), (1, 3, 3))]
    d, h = frames, size // 2
    cin = width
    for s in range(4):
        cout = width << s
        if s == 0:
            shapes.append((f"layer{s+1}", batch, cin, d, h, h, cout, (3, 3, 3), (1, 1, 1), (1, 1, 1)))
        else:
            shapes.append((f"layer{s+1}.0.conv1", batch, cin, d, h, h, cout, (3, 3, 3), (2, 2, 2), (1, 1, 1)))
            shapes.append((f"layer{s+1}.0.downsample", batch, cin, d, h, h, cout, (1, 1, 1), (2, 2, 2), (0, 0, 0)))
            d, h = (d + 1) // 2, (h + 1) // 2
            shapes.append((f"layer{s+1}", batch, cout, d, h, h, cout, (3, 3, 3), (1, 1, 1), (1, 1, 1)))
        cin = cout
    return shapes


def spatial_loss(block, idx, pos):
    """The relative spatial loss of docs/model.md §5 on the window `idx` of a block output."""
    x = block.mean(dim=2).flatten(1)[:, idx]
    n, m = x.shape
    xc = x - x.mean(dim=0)
    sd = (xc.pow(2).sum(dim=0) / (n - 1)).sqrt()
    z = xc / torch.where(sd > 0, sd, torch.ones_like(sd))
    r = ((z.t() @ z) / (n - 1)).clamp(-1, 1)
    d = 1 / (torch.cdist(pos, pos) + 1)
    i, j = torch.tril_indices(m, m, -1, device=x.device)
    v, u = r[i, j], d[i, j]
    v, u = v - v.mean(), u - u.mean()
    return (1 - (v * u).sum() / (v.norm() * u.norm())) / 2


def autocast(a):
    """torch.autocast(bfloat16) on the GPU with --autocast-bf16, else a context that does nothing."""
    import contextlib
    return torch.autocast("cuda", dtype=torch.bfloat16) if a.autocast_bf16 else contextlib.nullcontext()


def moco_step_seconds(a, dev):
    import copy
    sizes = [int(v) for v in a.moco.split(",")]
    query = ref.ResNet3d("r3d", width=a.width, proj=128).to(dev)
    key = copy.deepcopy(query)
    for p in key.parameters():
        p.requires_grad_(False)
    decay = [p for p in query.parameters() if p.ndim > 1]
    no_decay = [p for p in query.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=1e-3, momentum=0.9)
    queue = F.normalize(torch.randn(a.queue, 128, device=dev), dim=1)
    xq = torch.randn(a.batch, 3, a.frames, a.size, a.size, device=dev)
    xk = torch.randn_like(xq)
    with torch.no_grad():
        _, _, blocks = query(xq)
    names = sorted(blocks)
    units = {b: blocks[b].shape[1] * blocks[b].shape[3] * blocks[b].shape[4] for b in names}
    pos = {b: torch.rand(units[b], 2, device=dev) * 10 for b in names}
    state = {"ptr": 0}

    def step():
        with torch.no_grad():
            torch._foreach_mul_(list(key.parameters()), 0.999)
            torch._foreach_add_(list(key.parameters()), list(query.parameters()), alpha=0.001)
            with autocast(a):
                _, k, _ = key(xk)
            k = k.float()
        with autocast(a):
            _, q, blocks = query(xq)
            logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], dim=1) / 0.2
            loss = F.cross_entropy(logits, torch.zeros(a.batch, dtype=torch.long, device=dev))
            for b, m in zip(names, sizes):
                idx = torch.randperm(units[b], device=dev)[:m]
                loss = loss + a.alpha * spatial_loss(blocks[b].float(), idx, pos[b][idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            queue[state["ptr"]:state["ptr"] + a.batch] = k
            state["ptr"] = (state["ptr"] + a.batch) % a.queue
        if a.device == "cuda":
            torch.cuda.synchronize()

    return median_time(step, 1, a.reps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--step-only", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--moco", default="", help="window units per block, comma-separated: time the MoCo step only")
    ap.add_argument("--queue", type=int, default=4096)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--autocast-bf16", action="store_true",
                    help="CUDA: forward passes and losses under torch.autocast(bfloat16), as a user runs mixed precision")
    a = ap.parse_args()
    if a.autocast_bf16 and a.device != "cuda":
        ap.error("--autocast-bf16 needs --device cuda")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    info = {"peer": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(), "device": a.device,
            "autocast": "bfloat16" if a.autocast_bf16 else "none"}
    if a.device == "cuda":
        if not torch.cuda.is_available():
            print("torch_bench.py: --device cuda but PyTorch sees no GPU", file=sys.stderr)
            sys.exit(77)
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = False  # mtmap's matmul is exact f32
        torch.backends.cudnn.benchmark = True  # cuDNN picks its fastest algorithms, as a user would let it
        info.update({"gpu": torch.cuda.get_device_name(0), "cudnn": torch.backends.cudnn.version()})
    print(json.dumps({"kind": "info", **info}), flush=True)

    if a.moco:
        t = moco_step_seconds(a, dev)
        print(json.dumps({"kind": "moco_step", "seconds": t, "clips_per_s": a.batch / t}), flush=True)
        return

    if not a.step_only:
        for (name, n, c, d, h, w, k, ker, st, pad) in layer_shapes(a.width, a.frames, a.size, a.batch):
            x = torch.randn(n, c, d, h, w)
            wt = torch.randn(k, c, *ker)
            dy = torch.randn_like(F.conv3d(x, wt, stride=st, padding=pad))

            def backward(mask):
                return torch.ops.aten.convolution_backward(dy, x, wt, None, st, pad, (1, 1, 1), False, (0, 0, 0), 1, mask)

            with torch.no_grad():
                fprop = median_time(lambda: F.conv3d(x, wt, stride=st, padding=pad), 2, a.reps)
                dgrad = median_time(lambda: backward([True, False, False]), 2, a.reps)
                wgrad = median_time(lambda: backward([False, True, False]), 2, a.reps)
            print(json.dumps({"kind": "conv3d", "layer": name, "fprop_s": fprop, "dgrad_s": dgrad, "wgrad_s": wgrad}),
                  flush=True)

    # Width and projection passed explicitly: the constructor's defaults are bound when it is defined.
    model = ref.ResNet3d("r3d", width=a.width, proj=128).to(dev)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}], lr=0.01,
                          momentum=0.9)
    x = torch.randn(a.batch, 3, a.frames, a.size, a.size, device=dev)
    proj = torch.randn(a.batch, 128, device=dev)

    def step():
        opt.zero_grad()
        with autocast(a):
            _, embedding, _ = model(x)
            loss = (embedding.float() * proj).sum()
        loss.backward()
        opt.step()
        if a.device == "cuda":
            torch.cuda.synchronize()

    t = median_time(step, 1, a.reps)
    result = {"kind": "train_step", "seconds": t, "clips_per_s": a.batch / t}
    if a.device == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
