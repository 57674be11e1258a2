#!/usr/bin/env python3
"""same_losses.py RUN_A RUN_B: every step's loss parts of two training runs' metrics.jsonl, bit for
bit (compared as the repr of each float). Exits 1 naming the first step that differs. Used by the
crash and fault tests (cli_train.sh, cli_faults.sh)."""
import json
import sys


def parts(run):
    with open(f"{run}/metrics.jsonl") as f:
        return [(j["step"], repr(j["loss"]), repr(j["info_nce"]), json.dumps(j["spatial"], sort_keys=True))
                for j in map(json.loads, f)]


a, b = parts(sys.argv[1]), parts(sys.argv[2])
if a != b:
    diff = next((x, y) for x, y in zip(a, b) if x != y) if len(a) == len(b) else (len(a), len(b))
    sys.exit(f"losses differ: {diff}")
print(f"{len(a)} steps identical")
