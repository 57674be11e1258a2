#!/usr/bin/env bash
# `mtmap train` as a user meets it, on experiments/smoke.json variants:
#   1. a bad config: exit status 2, one line naming the key, nothing written; bad usage: 2 too;
#   2. kill -9 at a random moment of a run, then --resume: the losses of every step and the final
#      model equal an uninterrupted run's, bit for bit;
#   3. kill -9 half-way through writing a checkpoint (MTMAP_FAULT_KILL_IN_SAVE): the half-written
#      file is never loaded; --resume continues from the one before, and again equals the
#      uninterrupted run.
# Usage: cli_train.sh MTMAP SOURCE_DIR
set -euo pipefail
mtmap=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3

variant() {  # variant OUT.json STEPS: smoke.json with more steps, a checkpoint every 10
  "$py" - "$src/experiments/smoke.json" "$1" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["training"]["steps"] = int(sys.argv[3])
c["training"]["checkpoint_every"] = 10
c["training"]["keep_checkpoints"] = 3
json.dump(c, open(sys.argv[2], "w"))
PY
}
same_losses() {  # same_losses RUN_A RUN_B: every step's loss parts, bit for bit (as JSON text)
  "$py" "$src/tests/training/same_losses.py" "$1" "$2"
}
fail() { echo "FAIL: $*"; exit 1; }

echo "== 1. a bad config"
"$py" -c "import json; c=json.load(open('$src/experiments/smoke.json')); c['training']['queue_size']=10; json.dump(c, open('$work/bad.json','w'))"
set +e
"$mtmap" train --config "$work/bad.json" --out "$work/bad-run" 2>"$work/bad.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "exit status $rc, expected 2"
grep -q "training.queue_size = 10 (need a positive multiple of training.batch_size = 4)" "$work/bad.err" ||
  fail "message: $(cat "$work/bad.err")"
[ ! -e "$work/bad-run" ] || fail "a bad config wrote $work/bad-run"
echo "exit 2, message names the key, nothing written"

echo "== 1b. bad usage: exit 2 (not CLI11's own codes); --help: 0"
for args in "train --config $work/bad.json" "frobnicate" "train --config $work/bad.json --out x --no-such-flag"; do
  set +e
  # shellcheck disable=SC2086
  "$mtmap" $args >/dev/null 2>&1
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "mtmap $args: exit $rc, expected 2"
done
"$mtmap" train --help >/dev/null || fail "mtmap train --help: exit $?"
echo "usage errors exit 2, --help exits 0"

variant "$work/long.json" 80
echo "== the uninterrupted run"
"$mtmap" train --config "$work/long.json" --out "$work/whole" --progress lines >"$work/whole.log" 2>&1

echo "== 2. kill -9 during the run, then --resume"
"$mtmap" train --config "$work/long.json" --out "$work/killed" --progress lines >"$work/killed.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # until the second checkpoint exists (at most 60 s)
  [ -e "$work/killed/checkpoints/step-00000020.safetensors" ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null || fail "the run ended before it could be killed"
wait "$pid" 2>/dev/null || true
steps_before=$(wc -l <"$work/killed/metrics.jsonl")
echo "killed after $steps_before logged steps"
[ "$steps_before" -lt 80 ] || fail "the run finished before the kill"
"$mtmap" train --config "$work/long.json" --out "$work/killed" --resume --progress lines >>"$work/killed.log" 2>&1
same_losses "$work/whole" "$work/killed"
cmp "$work/whole/model.safetensors" "$work/killed/model.safetensors" || fail "final models differ"

echo "== 3. kill -9 half-way through writing checkpoint 30"
set +e
MTMAP_FAULT_KILL_IN_SAVE=step-00000030 "$mtmap" train --config "$work/long.json" --out "$work/torn" --progress lines \
  >"$work/torn.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 137 ] || fail "exit status $rc, expected 137 (SIGKILL)"
[ -e "$work/torn/checkpoints/step-00000030.safetensors.tmp" ] || fail "no half-written temporary was left"
[ ! -e "$work/torn/checkpoints/step-00000030.safetensors" ] || fail "a half-written checkpoint has its real name"
"$mtmap" train --config "$work/long.json" --out "$work/torn" --resume --progress lines >>"$work/torn.log" 2>&1
grep -q "resuming .*step-00000020.safetensors at step 20" "$work/torn.log" || fail "did not resume from step 20"
[ ! -e "$work/torn/checkpoints/step-00000030.safetensors.tmp" ] || fail "the temporary was not cleaned up"
same_losses "$work/whole" "$work/torn"
cmp "$work/whole/model.safetensors" "$work/torn/model.safetensors" || fail "final models differ"
echo "all train CLI checks passed"
