#!/usr/bin/env python3
"""PyTorch reference for mtmap's 3D ResNet parity test.

Builds the same tiny 3D ResNet-18 as mtmap (torchvision r3d_18's module names, MoCo v2's
projection head), runs a forward and backward pass and a few SGD steps, and writes everything the
C++ test compares as safetensors files (written here by hand: no extra Python package needed).

  torch_reference.py OUT_DIR [--dtype f64|f32] [--stem r3d|hara]   write the reference
  torch_reference.py --check-load FILE [--stem ...]                load an mtmap checkpoint strictly

Exit status 77 when PyTorch is not installed (the C++ test then reports itself skipped).
"""
import argparse
import json
import struct
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("torch_reference.py: PyTorch is not installed", file=sys.stderr)
    sys.exit(77)

WIDTH, DEPTH, PROJ = 4, (2, 2, 2, 2), 16
# Input clips (N, C, T, H, W) per stem, sized so that every batch norm sees enough values per channel
# to be well-posed: layer4's output is 1x2x2 per clip with either stem, so its batch norms
# normalise 8 (r3d) and 16 (Hara) values. With 2 values (the Hara stem at 8x32x32), BN's output is
# +-1 whatever its input, and summation-order differences of 1e-16 (another CPU's BLAS kernels)
# grew to 1e-7 over the three SGD steps.
INPUTS = {"r3d": (2, 3, 8, 32, 32), "hara": (4, 3, 16, 48, 48)}
LR, MOMENTUM, WEIGHT_DECAY, STEPS = 0.02, 0.9, 1e-4, 3


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv3d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm3d(cout), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv3d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm3d(cout))
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        return torch.relu(self.conv2(self.conv1(x)) + shortcut)


class ResNet3d(nn.Module):
    # Also the model of tools/torch_train_step.py, which passes the architecture of its inputs.
    def __init__(self, stem, width=WIDTH, depth=DEPTH, proj=PROJ):
        super().__init__()
        if stem == "r3d":
            self.stem = nn.Sequential(nn.Conv3d(3, width, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                                      nn.BatchNorm3d(width), nn.ReLU())
        else:
            self.stem = nn.Sequential(nn.Conv3d(3, width, 7, (1, 2, 2), 3, bias=False), nn.BatchNorm3d(width), nn.ReLU(),
                                      nn.MaxPool3d(3, 2, 1))
        cin = width
        for s in range(4):
            cout = width << s
            blocks = []
            for b in range(depth[s]):
                blocks.append(BasicBlock(cin, cout, 2 if (b == 0 and s > 0) else 1))
                cin = cout
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.fc = nn.Sequential(nn.Linear(cin, cin), nn.ReLU(), nn.Linear(cin, proj))

    def forward(self, x):
        blocks = {}
        h = self.stem(x)
        for s in range(4):
            for b, block in enumerate(getattr(self, f"layer{s + 1}")):
                h = block(h)
                blocks[f"layer{s + 1}.{b}"] = h
        features = h.mean(dim=(2, 3, 4))
        embedding = nn.functional.normalize(self.fc(features), dim=1)
        return features, embedding, blocks


ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    np_types = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np_types[e["dtype"]]).reshape(e["shape"]).copy())
    return out


def loss_of(features, embedding, projection, feature_projection):
    # A random projection (never a plain sum) of both heads' outputs.
    return (embedding * projection).sum() + 0.1 * (features * feature_projection).sum()


def write_reference(out_dir, dtype, stem):
    torch.manual_seed(1234)
    model = ResNet3d(stem).to(dtype)
    shape = INPUTS[stem]
    x = torch.randn(shape, dtype=dtype, requires_grad=True)
    projection = torch.randn(shape[0], PROJ, dtype=dtype)
    feature_projection = torch.randn(shape[0], WIDTH * 8, dtype=dtype)
    save_safetensors(f"{out_dir}/weights.safetensors", model.state_dict())

    features, embedding, blocks = model(x)
    loss = loss_of(features, embedding, projection, feature_projection)
    loss.backward()
    out = {"input": x, "projection": projection, "feature_projection": feature_projection, "features": features,
           "embedding": embedding, "loss": loss.reshape(1), "grad.input": x.grad}
    for name, h in blocks.items():
        out[f"block.{name}"] = h
    # Clones: zero_grad() and later forward passes change these tensors in place.
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad.clone()
    # The running statistics after one training forward pass.
    for name, b in model.named_buffers():
        out[f"buffer.{name}"] = b.clone()

    # SGD steps with MoCo's settings and a no-decay list for batch norm and biases.
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=LR, momentum=MOMENTUM)
    losses = []
    for _ in range(STEPS):  # the first step reuses the gradients computed above
        opt.step()
        opt.zero_grad()
        features, embedding, _ = model(x.detach())
        step_loss = loss_of(features, embedding, projection, feature_projection)
        losses.append(step_loss.item())
        step_loss.backward()
    out["sgd_losses"] = torch.tensor(losses, dtype=torch.float64)
    for name, p in model.named_parameters():
        out[f"after.{name}"] = p.detach().clone()
    save_safetensors(f"{out_dir}/reference.safetensors", out)
    print(f"torch_reference.py: wrote {out_dir} ({dtype}, {stem}, torch {torch.__version__})")


def check_load(path, stem):
    state = load_safetensors(path)
    model = ResNet3d(stem).to(next(iter(state.values())).dtype)
    model.load_state_dict(state, strict=True)
    print(f"torch_reference.py: {path} loads into PyTorch strictly ({len(state)} tensors)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", nargs="?")
    ap.add_argument("--dtype", choices=["f32", "f64"], default="f64")
    ap.add_argument("--stem", choices=["r3d", "hara"], default="r3d")
    ap.add_argument("--check-load")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.check_load:
        check_load(a.check_load, a.stem)
    else:
        write_reference(a.out_dir, torch.float64 if a.dtype == "f64" else torch.float32, a.stem)


if __name__ == "__main__":
    main()
