#!/usr/bin/env bash
# `mtmap run` as a user meets it: --plan writes nothing; a bad experiment file gives one line naming
# the key, exit status 2, and writes nothing; a missing file too; a study killed (kill -9, half-way
# through writing a checkpoint) is continued by running it again, to exactly the uninterrupted
# study's trained models.
set -uo pipefail
mtmap=$1
src=$2
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cd "$work"
"$mtmap" run "$src/experiments/smoke.json" --plan --out "$work/plan" >plan.txt || fail "--plan exit $?"
grep -q "run joint-a0.5-s1" plan.txt || fail "--plan does not list the runs: $(cat plan.txt)"
grep -q "to run" plan.txt || fail "--plan does not say what is to run"
[ ! -e "$work/plan" ] || fail "--plan wrote $work/plan"
# A plan needs no device: a GPU experiment is planned on a machine without one, with a note.
"$mtmap" run "$src/experiments/device_fullscale.json" --plan --out "$work/plan-gpu" >plan-gpu.txt 2>&1 ||
  fail "--plan of a GPU experiment: exit $? ($(cat plan-gpu.txt))"
grep -q "run joint-a0.5-s1" plan-gpu.txt || fail "--plan of a GPU experiment lists no run: $(cat plan-gpu.txt)"
if grep -q "^note:" plan-gpu.txt; then
  grep -q "cannot run on this machine: training.device" plan-gpu.txt || fail "the note does not name the device: $(cat plan-gpu.txt)"
fi
[ ! -e "$work/plan-gpu" ] || fail "--plan wrote $work/plan-gpu"

bad() {  # bad NAME PATCH EXPECTED: smoke.json with PATCH merged in must fail with EXPECTED, exit 2
  "$py" - "$src/experiments/smoke.json" "$work/$1.json" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for k, v in json.loads(sys.argv[3]).items():
    if isinstance(v, dict) and isinstance(c.get(k), dict): c[k].update(v)
    else: c[k] = v
json.dump(c, open(sys.argv[2], "w"))
PY
  "$mtmap" run "$work/$1.json" --out "$work/out-$1" >out.txt 2>err.txt
  rc=$?
  [ $rc -eq 2 ] || fail "$1: exit $rc, expected 2 ($(cat err.txt))"
  grep -qF "$3" err.txt || fail "$1: error '$(cat err.txt)' lacks '$3'"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "$1: more than one error line: $(cat err.txt)"
  [ ! -e "$work/out-$1" ] || fail "$1: wrote $work/out-$1"
}
bad alphas '{"study": {"alphas": [0.5, -1]}}' "study.alphas[1] = -1 (need ≥ 0)"
bad objective '{"study": {"objectives": ["contrastiv"]}}' "study.objectives[0]: 'contrastiv' is not one of: joint, contrastive, spatial"
bad section '{"analysis": {}}' "analysis: unknown config section"
bad device '{"training": {"device": "cuda:7"}}' "training.device"
"$mtmap" run "$work/missing.json" >out.txt 2>err.txt
[ $? -eq 2 ] || fail "a missing file: exit status not 2"
grep -q "missing.json" err.txt || fail "a missing file: the error does not name it: $(cat err.txt)"

# kill -9 inside the first training stage, half-way through its step-4 checkpoint.
"$py" - "$src/experiments/smoke.json" "$work/short.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["training"].update({"steps": 6, "checkpoint_every": 2})
json.dump(c, open(sys.argv[2], "w"))
PY
"$mtmap" run "$work/short.json" --out "$work/whole" --progress lines >whole.txt 2>&1 || fail "uninterrupted study: $(tail -3 whole.txt)"
MTMAP_FAULT_KILL_IN_SAVE=step-00000004 "$mtmap" run "$work/short.json" --out "$work/cut" --progress lines >cut.txt 2>&1
rc=$?
[ $rc -eq 137 ] || fail "the fault-injected study was not killed (exit $rc)"
[ ! -e "$work/cut/report.html" ] || fail "a killed study wrote its report"
"$mtmap" run "$work/short.json" --out "$work/cut" --progress lines >again.txt 2>&1 || fail "continuing: $(tail -3 again.txt)"
grep -q "resuming .*step-00000002" again.txt || fail "the killed stage did not resume from its last checkpoint: $(cat again.txt)"
[ -e "$work/cut/report.html" ] || fail "the continued study wrote no report"
for label in joint-a0-s1 joint-a0.5-s1; do
  cmp -s "$work/whole/runs/$label/train/model.safetensors" "$work/cut/runs/$label/train/model.safetensors" ||
    fail "$label: the continued study's model differs from the uninterrupted one"
done
"$mtmap" run "$work/short.json" --out "$work/cut" --progress lines >third.txt 2>&1 || fail "third call failed"
grep -q "0 stages ran, 4 reused" third.txt || fail "a finished study ran again: $(tail -2 third.txt)"
# One study folder, one mtmap run at a time (the lock is held here by flock(1) while mtmap runs).
if command -v flock >/dev/null; then
  flock "$work/cut/.lock" "$mtmap" run "$work/short.json" --out "$work/cut" >locked.txt 2>&1
  rc=$?
  [ $rc -eq 1 ] || fail "a locked study folder: exit $rc, expected 1"
  grep -q "is in use by another mtmap run" locked.txt || fail "a locked study folder: $(cat locked.txt)"
fi
echo "all run CLI checks passed"
