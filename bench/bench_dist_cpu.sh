#!/usr/bin/env bash
# Data parallel on this machine's CPU: the quickstart's training step (r3d width 16, 8×64×64, the
# global batch 16, MoCo + the spatial loss on every sheet) run by `mtmap train` on one process
# using every core, then under `mpirun -np 2` with the cores split between the ranks (8 clips
# each). Prints clips/s of each (the median over the steps after the first two), the ratio, and
# the CPU model. Usage: bench/bench_dist_cpu.sh MTMAP [STEPS [ROUNDS]]   (default 10 steps, 2 rounds)
set -euo pipefail
mtmap=$1
steps=${2:-10}
rounds=${3:-2}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
cores=$(nproc)
"$py" - "$src/experiments/quickstart.json" "$work/bench.json" "$steps" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.pop("study", None); c.pop("probe", None)
t = c["training"]
t.update({"steps": int(sys.argv[3]), "warmup_steps": 0, "schedule": "scratch", "pretrain_steps": 0,
          "checkpoint_every": 1000})
json.dump(c, open(sys.argv[2], "w"))
PY
median_rate() {
  "$py" - "$1/metrics.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])][2:]
print(f"{statistics.median(r['clips_per_s'] for r in rows):.2f}")
PY
}
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs)
family=$(grep -m1 "cpu family" /proc/cpuinfo | cut -d: -f2 | xargs)
model=$(grep -m1 "^model" /proc/cpuinfo | grep -v name | cut -d: -f2 | xargs)
echo "CPU: $cpu (family $family, model $model), $cores cores; commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo ?)"

per_rank=$(( cores / 2 > 0 ? cores / 2 : 1 ))
ones=() twos=()
for round in $(seq "$rounds"); do  # alternated, so that a change in the machine's load hits both
  OMP_NUM_THREADS=$cores "$mtmap" train --config "$work/bench.json" --out "$work/one-$round" --progress lines \
    >"$work/one.log" 2>&1 || { tail -3 "$work/one.log"; exit 1; }
  ones+=("$(median_rate "$work/one-$round")")
  mpirun --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=$per_rank -x OMP_WAIT_POLICY=PASSIVE \
    "$mtmap" train --config "$work/bench.json" --out "$work/two-$round" --progress lines >"$work/two.log" 2>&1 ||
    { tail -3 "$work/two.log"; exit 1; }
  twos+=("$(median_rate "$work/two-$round")")
done
"$py" - "$cores" "$per_rank" "$steps" "${ones[*]}" "${twos[*]}" <<'PY'
import sys
cores, per, steps = sys.argv[1], sys.argv[2], sys.argv[3]
ones, twos = [float(x) for x in sys.argv[4].split()], [float(x) for x in sys.argv[5].split()]
show = lambda xs: " ".join(f"{x:.2f}" for x in xs)
print(f"quickstart step, global batch 16, {steps} steps per run (median clips/s after the first 2), rounds alternated:")
print(f"  1 process, {cores} threads:             {show(ones)}")
print(f"  2 ranks (mpirun), {per} thread(s) each:   {show(twos)}")
print(f"  2 ranks / 1 process, per round:      {show([t / o for o, t in zip(ones, twos)])}")
PY
