#!/usr/bin/env bash
# `mtmap train` and `mtmap run` under mpirun with 2 ranks on this machine's CPU, as a user meets them:
#   1. a 2-rank training run: one voice, rank 0 writes the folder, every step logged once;
#   2. the same run again: the same losses, bit for bit;
#   3. ranks given different configs (MPMD): every rank stops, the message says they disagree;
#   4. a global batch that does not split over the ranks: a clear error, nothing trained; a GPU
#      run on a node without one: a clear error;
#   5. kill -9 of rank 1 mid-run: the job ends (mpirun reports the signal) instead of hanging;
#   6. `mtmap run` of a small study on 2 ranks: stages, analysis and report.
# Usage: cli_dist.sh MTMAP SOURCE_DIR MPIEXEC
set -euo pipefail
mtmap=$1
src=$2
mpiexec=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
mpi=("$mpiexec" --allow-run-as-root --oversubscribe)
fail() { echo "FAIL: $*"; exit 1; }

variant() {  # variant OUT.json KEY=VALUE...: smoke.json with training keys changed
  "$py" - "$src/experiments/smoke.json" "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    section, key = k.split(".", 1)
    c[section][key] = json.loads(v)
json.dump(c, open(sys.argv[2], "w"))
PY
}

echo "== 1. two ranks train"
variant "$work/six.json" training.steps=6 training.checkpoint_every=3
"${mpi[@]}" -np 2 "$mtmap" train --config "$work/six.json" --out "$work/a" --progress lines >"$work/a.out" 2>"$work/a.err" ||
  { cat "$work/a.err"; fail "2-rank training failed"; }
grep -q "trained 6 steps into $work/a on 2 ranks" "$work/a.out" || fail "stdout: $(cat "$work/a.out")"
[ "$(grep -c "trained" "$work/a.out")" -eq 1 ] || fail "more than one rank reported: $(cat "$work/a.out")"
[ "$(wc -l <"$work/a/metrics.jsonl")" -eq 6 ] || fail "metrics: $(wc -l <"$work/a/metrics.jsonl") lines, expected 6"
[ -f "$work/a/model.safetensors" ] || fail "no model.safetensors"
grep -q '"train.ranks":"2"' "$work/a/model.safetensors" || fail "the model does not record 2 ranks"
echo "6 steps, one report line, metrics and model written"

echo "== 2. the same 2-rank run again: the same losses"
"${mpi[@]}" -np 2 "$mtmap" train --config "$work/six.json" --out "$work/b" --progress lines >/dev/null 2>&1 ||
  fail "second run failed"
"$py" - "$work/a/metrics.jsonl" "$work/b/metrics.jsonl" <<'PY' || fail "losses differ"
import json, sys
def parts(p): return [(j["step"], repr(j["loss"]), repr(j["info_nce"]), json.dumps(j["spatial"], sort_keys=True)) for j in map(json.loads, open(p))]
a, b = parts(sys.argv[1]), parts(sys.argv[2])
sys.exit(0 if a == b else f"{a} != {b}")
PY
echo "identical"

echo "== 3. ranks with different configs"
variant "$work/other.json" training.steps=6 training.checkpoint_every=3 training.seed=2
set +e
timeout 120 "${mpi[@]}" -np 1 "$mtmap" train --config "$work/six.json" --out "$work/c" : \
  -np 1 "$mtmap" train --config "$work/other.json" --out "$work/c" >"$work/c.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "exit status $rc (124: it hung)"
grep -q "the ranks disagree on the training config (its hash): rank 1 differs" "$work/c.out" ||
  fail "message: $(cat "$work/c.out")"
[ ! -e "$work/c/metrics.jsonl" ] || fail "a mismatched job trained"
echo "exit $rc, the message names rank 1"

echo "== 4. a global batch that does not split over the ranks"
variant "$work/odd.json" training.batch_size=5 training.queue_size=20
set +e
timeout 120 "${mpi[@]}" -np 2 "$mtmap" train --config "$work/odd.json" --out "$work/d" >"$work/d.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "exit status $rc"
grep -q "training.batch_size = 5 (the global batch) does not split over 2 ranks" "$work/d.out" ||
  fail "message: $(cat "$work/d.out")"
echo "exit $rc, the message names training.batch_size"

echo "== 4b. a GPU run on a node without GPUs (more ranks than GPUs is the same check per rank)"
variant "$work/gpu.json" training.device='"cuda"'
set +e
timeout 120 "${mpi[@]}" -np 2 "$mtmap" train --config "$work/gpu.json" --out "$work/g" >"$work/g.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "exit status $rc"
grep -q "training.device: cuda:0 requested, but" "$work/g.out" || fail "message: $(cat "$work/g.out")"
echo "exit $rc, the message names training.device"

echo "== 5. kill -9 of rank 1 mid-run"
variant "$work/long.json" training.steps=100000 training.checkpoint_every=1000
"${mpi[@]}" -np 2 "$mtmap" train --config "$work/long.json" --out "$work/e" --progress lines >"$work/e.out" 2>&1 &
job=$!
for _ in $(seq 600); do
  [ -f "$work/e/metrics.jsonl" ] && [ "$(wc -l <"$work/e/metrics.jsonl")" -ge 2 ] && break
  sleep 0.1
done
[ -f "$work/e/metrics.jsonl" ] || { kill -9 $job; fail "the run did not start: $(cat "$work/e.out")"; }
rank1=""
for p in $(pgrep -f "$work/long.json"); do
  if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then rank1=$p; fi
done
[ -n "$rank1" ] || { kill -9 $job; fail "rank 1's process not found"; }
kill -9 "$rank1"
start=$(date +%s)
set +e
timeout 60 tail --pid=$job -f /dev/null
waited=$?
wait $job
rc=$?
set -e
[ "$waited" -ne 124 ] || { kill -9 $job; fail "rank 0 hung after rank 1 died"; }
[ "$rc" -ne 0 ] || fail "the job exited 0 after a rank was killed"
grep -qi "signal 9\|killed" "$work/e.out" || fail "no word of the killed rank: $(tail -5 "$work/e.out")"
echo "the job ended in $(( $(date +%s) - start )) s with exit $rc; mpirun named the signal"

echo "== 6. mtmap run of a small study on 2 ranks"
variant "$work/study.json" training.steps=6 training.checkpoint_every=3 study.alphas=[0.5]
"${mpi[@]}" -np 2 "$mtmap" run "$work/study.json" --out "$work/s" --progress lines >"$work/s.out" 2>"$work/s.err" ||
  { tail -20 "$work/s.err"; fail "2-rank study failed"; }
grep -q "report: $work/s/report.html" "$work/s.out" || fail "stdout: $(cat "$work/s.out")"
[ "$(grep -c "report:" "$work/s.out")" -eq 1 ] || fail "more than one rank reported"
ls "$work/s/runs/joint-a0.5-s1/analysis/" >/dev/null || fail "no analysis for the run"
echo "study ran on 2 ranks, one report"

echo "all mpirun CLI checks passed"
