#!/usr/bin/env python3
"""Fails on an #include that goes up the layers (docs/engine.md, "Layers").

    tools/check_layers.py [ROOT]      check the tree at ROOT (default: this repository)
    tools/check_layers.py --self-test the rules against a table of allowed and forbidden includes

Each source folder belongs to one layer; a file may include its own folder and any folder of a
lower layer, never a higher one, and never a peer of its own layer (models/, losses/, cortex/ and
io/ are independent of each other):

    6  tools/                                  the CLI
    5  study/                                  `mtmap run`: studies of runs, their stages and report
    4  analysis/, analysis/probe/, training/    a run's training and analysis
    3  models/, losses/, cortex/, io/           the model, its losses, the sheet, video
    2  formats/                                 file formats (safetensors, npy, png, svg)
    1  engine/                                  tensor, autograd, ops, nn, optim
    0  kernels/                                 CPU and CUDA kernels: leaves

bench/, tests/, fuzz/ and examples/ may include any layer; nothing outside tests/ may include tests/ (nor outside fuzz/ fuzz/). The
examples (examples/: projects built against the installed package, docs/api.md) may not include a
backend-private header either; that they use installed headers only, their build checks. The backends
behind the contract (engine/backend/cpu_backend.h, cuda_backend.h) are for engine/ alone.

KNOWN lists the violations that are still in the tree, each with the reason it is there; it may
only shrink: a new violation fails, and so does a listed one that is gone (delete its line).
Exit status 0 when the tree keeps the rules, 1 otherwise (each offending line is printed).
"""
import os
import re
import sys

LAYERS = [  # (folder prefix, component, layer); the longest prefix wins
    ("kernels/", "kernels", 0),
    ("engine/", "engine", 1),
    ("formats/", "formats", 2),
    ("models/", "models", 3),
    ("losses/", "losses", 3),
    ("cortex/", "cortex", 3),
    ("io/", "io", 3),
    ("analysis/", "analysis", 4),
    ("analysis/probe/", "analysis_probe", 4),
    ("training/", "training", 4),
    ("study/", "study", 5),
    ("tools/", "tools", 6),
    ("bench/", "bench", None),  # None: may include anything
    ("tests/", "tests", None),
    ("examples/", "examples", None),
    ("fuzz/", "fuzz", None),  # the fuzz targets (docs/reliability.md): above every layer, like tests/
]
# A component that may include another of its own layer (the probe is analysis' model half).
PEERS_ALLOWED = {("analysis_probe", "analysis")}
# header -> the only component that may include it: the backends behind the contract.
PRIVATE = {"engine/backend/cpu_backend.h": "engine", "engine/backend/cuda_backend.h": "engine"}

# Violations still in the tree: (including file, included file) -> why. Shrink only.
KNOWN = {}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE_EXT = (".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh")


def component(path):
    best = None
    for prefix, name, layer in LAYERS:
        if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, name, layer)
    return best


def violation(src, dst):
    """Why src may not include dst, or None."""
    s, d = component(src), component(dst)
    if d is None:
        return None  # not a project header (a generated file, a third-party one)
    if d[1] == "tests" and s[1] != "tests":
        return "code outside tests/ includes test code"
    if d[1] == "fuzz" and s[1] != "fuzz":
        return "code outside fuzz/ includes fuzz code"
    owner = PRIVATE.get(dst)
    if owner and s[1] != owner and s[1] != "tests":
        return f"{dst} is private to {owner}/"
    if s[2] is None or d[2] is None or s[1] == d[1]:
        return None
    if d[2] > s[2]:
        return f"{s[1]} (layer {s[2]}) includes {d[1]} (layer {d[2]}), a higher layer"
    if d[2] == s[2] and (s[1], d[1]) not in PEERS_ALLOWED:
        return f"{s[1]} includes its peer {d[1]} (layer {s[2]}); peers are independent"
    return None


def self_test():
    """The rules on a made-up tree: every kind of violation is found, the allowed includes are not."""
    cases = [
        ("engine/ops/a.cpp", "models/resnet3d.h", True),   # up
        ("models/a.cpp", "io/loader.h", True),             # peer
        ("kernels/cpu/a.cpp", "engine/tensor/tensor.h", True),
        ("kernels/cuda/a.cu", "tests/cuda_emu/emulator/emu.h", True),
        ("cortex/a.cpp", "engine/backend/cpu_backend.h", True),  # private
        ("analysis/a.cpp", "analysis/probe/p.h", True),    # analysis/ is model-free; its probe is not
        ("analysis/probe/a.cpp", "analysis/config.h", False),
        ("analysis/probe/a.cpp", "models/checkpoint.h", False),
        ("models/a.cpp", "formats/safetensors.h", False),  # down
        ("cortex/a.cpp", "kernels/common/philox.h", False),
        ("engine/ops/a.cpp", "engine/backend/cuda_backend.h", False),
        ("losses/a.cpp", "engine/backend/backend.h", False),  # the contract is public
        ("tests/a.cpp", "tools/cli/main.cpp", False),
        ("tools/cli/a.cpp", "bench/cpu_bench.h", False),
        ("fuzz/fuzz_npy.cpp", "study/study_config.h", False),  # fuzz/ sits above everything
        ("study/a.cpp", "fuzz/fuzz_common.h", True),      # nothing else includes fuzz code
        ("examples/m/a.cpp", "engine/backend/cpu_backend.h", True),  # examples see the public API only
    ]
    wrong = [(s, d, bad) for s, d, bad in cases if (violation(s, d) is not None) != bad]
    for s, d, bad in wrong:
        print(f"self-test: {s} -> {d} should {'fail' if bad else 'pass'}: {violation(s, d)}")
    print(f"check_layers self-test: {len(cases) - len(wrong)} of {len(cases)} cases right")
    return 1 if wrong else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    found, checked = {}, 0
    for top in sorted({p.split("/")[0] for p, _, _ in LAYERS}):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("build"))
            for f in sorted(filenames):
                if not f.endswith(SOURCE_EXT):
                    continue
                path = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        checked += 1
                        why = violation(path, m.group(1))
                        if why:
                            found[(path, m.group(1))] = (n, why)
    bad = 0
    for (src, dst), (n, why) in sorted(found.items()):
        if (src, dst) not in KNOWN:
            print(f"{src}:{n}: #include \"{dst}\": {why}")
            bad += 1
    for (src, dst), reason in sorted(KNOWN.items()):
        if (src, dst) not in found:
            print(f"tools/check_layers.py: KNOWN lists {src} -> {dst}, which is gone: delete its line")
            bad += 1
    known = len(KNOWN)
    print(f"check_layers: {checked} includes checked, {bad} problem(s), {known} known violation(s) left"
          + "".join(f"\n  known: {s} -> {d} ({r})" for (s, d), r in sorted(KNOWN.items())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
