#!/usr/bin/env python3
"""PyTorch reference for mtmap's MoCo v2 + spatial loss training step (training/moco.cpp).

  torch_train_step.py DIR

Reads what tests/training/test_torch_train_step.cpp wrote to DIR:
  config.json           architecture (stem, width, depth, projection_dim), temperature, moco_momentum,
                        momentum, weight_decay, the learning rate of each step, the sheet blocks and
                        their alpha (in the order the windows are drawn)
  weights.safetensors   the initial query encoder: parameters and buffers, torchvision names
  inputs.safetensors    queue (K, D); positions.<block> (U, 2); and per step s = 1, 2, ...:
                        step<s>.query_clips, step<s>.key_clips (N, 3, T, S, S), step<s>.window.<block> (M)
and runs the steps in float64 with PyTorch's own modules, autograd and torch.optim.SGD, written from
docs/model.md §5-§6 rather than from mtmap's code:
  1. key encoder EMA over the parameters: theta_k <- m theta_k + (1 - m) theta_q (the key starts as a
     copy of the query, buffers included);
  2. key forward in train mode without gradient; query forward;
  3. L = InfoNCE(q, k, queue) / T + sum_b alpha_b spatial_b, spatial_b the relative spatial loss of
     the block's time-averaged units in the step's window;
  4. backward; SGD with momentum, weight decay on the parameters with more than one axis only (not
     batch norm, not biases), MoCo's no-decay rule;
  5. queue[ptr:ptr+N] = k, ptr <- (ptr + N) mod K.
Writes DIR/reference.safetensors with, per step s: step<s>.loss, .info_nce, .spatial.<block> (before
alpha), .grad.<param>, .query.<param or buffer>, .key.<param or buffer>, .queue, .queue_ptr.

Exit status 77 when PyTorch is not installed (the C++ test then reports itself skipped).
"""
import copy
import json
import sys

from torch_reference import ResNet3d, load_safetensors, save_safetensors  # exits 77 without PyTorch

import torch
import torch.nn.functional as F


def info_nce(q, k, queue, temperature):
    # MoCo v2: logits [q.k, q.queue_j] / T, cross-entropy with the positive at index 0, mean over rows.
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long))


def spatial_loss(block, window, positions):
    # docs/model.md §5, relative form. Units: the block averaged over time, u = c*H*W + h*W + w.
    n = block.shape[0]
    x = block.mean(dim=2).reshape(n, -1)[:, window]  # (B, M)
    p = positions[window]
    target = 1.0 / (torch.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)) + 1.0)
    centred = x - x.mean(0)
    sd = torch.sqrt((centred ** 2).sum(0) / (n - 1))
    dead = (x == x[:1]).all(0) | (sd == 0)  # a constant unit: z = 0, no gradient
    z = torch.where(dead, torch.zeros_like(x), centred / torch.where(dead, torch.ones_like(sd), sd))
    corr = torch.clamp(z.t() @ z / (n - 1), -1.0, 1.0)
    i, j = torch.tril_indices(x.shape[1], x.shape[1], -1)
    v, u = corr[i, j], target[i, j]
    v, u = v - v.mean(), u - u.mean()
    r = (v * u).sum() / (v.norm() * u.norm())
    return (1 - r) / 2


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    torch.set_num_threads(1)
    with open(f"{d}/config.json") as f:
        cfg = json.load(f)
    dtype = torch.float64
    query = ResNet3d(cfg["stem"], cfg["width"], tuple(cfg["depth"]), cfg["projection_dim"]).to(dtype)
    query.load_state_dict(load_safetensors(f"{d}/weights.safetensors"), strict=True)
    key = copy.deepcopy(query)
    for p in key.parameters():
        p.requires_grad_(False)
    query.train()
    key.train()  # batch statistics, as in MoCo
    inputs = load_safetensors(f"{d}/inputs.safetensors")
    queue = inputs["queue"].clone()
    ptr = 0
    m, temperature = cfg["moco_momentum"], cfg["temperature"]
    decay = [p for p in query.parameters() if p.ndim > 1]
    no_decay = [p for p in query.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": cfg["weight_decay"]},
                           {"params": no_decay, "weight_decay": 0.0}], lr=cfg["lr"][0], momentum=cfg["momentum"])
    out = {}
    for s, lr in enumerate(cfg["lr"], start=1):
        pre = f"step{s}."
        with torch.no_grad():
            for pk, pq in zip(key.parameters(), query.parameters()):
                pk.mul_(m).add_(pq, alpha=1 - m)
            _, k, _ = key(inputs[pre + "key_clips"])
        _, q, blocks = query(inputs[pre + "query_clips"])
        total = info_nce(q, k, queue, temperature)
        out[pre + "info_nce"] = total.detach().reshape(1)
        for b in cfg["blocks"]:
            name = b["name"]
            sl = spatial_loss(blocks[name], inputs[f"{pre}window.{name}"], inputs[f"positions.{name}"].to(dtype))
            out[f"{pre}spatial.{name}"] = sl.detach().reshape(1)
            total = total + sl * b["alpha"]
        out[pre + "loss"] = total.detach().reshape(1)
        opt.zero_grad()
        total.backward()
        for name, p in query.named_parameters():
            out[f"{pre}grad.{name}"] = p.grad.clone()
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        n = k.shape[0]
        queue[ptr:ptr + n] = k
        ptr = (ptr + n) % queue.shape[0]
        for name, t in query.state_dict().items():
            out[f"{pre}query.{name}"] = t.clone()
        for name, t in key.state_dict().items():
            out[f"{pre}key.{name}"] = t.clone()
        out[pre + "queue"] = queue.clone()
        out[pre + "queue_ptr"] = torch.tensor([ptr], dtype=torch.int64)
    save_safetensors(f"{d}/reference.safetensors", out)
    print(f"torch_train_step.py: {len(cfg['lr'])} steps written to {d}/reference.safetensors (torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
