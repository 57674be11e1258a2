#!/usr/bin/env bash
# Faults injected into `mtmap train` (issue #19, docs/reliability.md), each against an
# uninterrupted run of the same config: after every fault the run's folder still resumes to the
# uninterrupted run's losses (every step, bit for bit) and final model (byte for byte).
#
#   cli_faults.sh MTMAP SOURCE_DIR disk       a full disk, then a read-only checkpoint folder, while a
#                                             checkpoint is written (a tmpfs and a read-only bind mount
#                                             in a private mount namespace; exit 77, skipped, where
#                                             this machine does not allow one)
#   cli_faults.sh MTMAP SOURCE_DIR kill [N]   kill -9 at N random moments (default 12) of one run,
#                                             each time resumed; MTMAP_FAULT_SEED picks the moments
#   cli_faults.sh MTMAP SOURCE_DIR nonfinite  a NaN injected into one block's output (MTMAP_FAULT_NONFINITE)
#   cli_faults.sh MTMAP SOURCE_DIR oom        the address space limited (ulimit -v) below what a step
#                                             needs: a clear error, exit 1, nothing half-written
set -euo pipefail
mtmap=$1
src=$2
mode=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }

variant() {  # variant OUT.json STEPS EVERY: smoke.json with STEPS steps, a checkpoint every EVERY
  "$py" - "$src/experiments/smoke.json" "$1" "$2" "$3" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["training"]["steps"] = int(sys.argv[3])
c["training"]["checkpoint_every"] = int(sys.argv[4])
c["training"]["keep_checkpoints"] = 2
json.dump(c, open(sys.argv[2], "w"))
PY
}
same_run() {  # same_run RUN_A RUN_B: every step's loss parts bit for bit, and the same final model
  "$py" "$src/tests/training/same_losses.py" "$1" "$2"
  cmp "$1/model.safetensors" "$2/model.safetensors" || fail "final models differ"
}
run() {  # run OUT [ARGS...]: mtmap train on $work/run.json, its output appended to OUT.log; the exit status
  local out=$1
  shift
  set +e
  "$mtmap" train --config "$work/run.json" --out "$out" --progress lines "$@" >>"$out.log" 2>&1
  local rc=$?
  set -e
  return $rc
}
expect_failure() {  # expect_failure OUT PATTERN [ARGS...]: exit 1 and an error line matching PATTERN
  local out=$1 pattern=$2 rc=0
  shift 2
  run "$out" "$@" || rc=$?
  [ "$rc" -eq 1 ] || fail "exit status $rc, expected 1: $(tail -3 "$out.log")"
  grep -q "^mtmap: error: .*$pattern" "$out.log" || fail "no error matching '$pattern': $(tail -3 "$out.log")"
  grep "^mtmap: error" "$out.log" | tail -1
}
checkpoint_steps() {  # the steps of the complete checkpoints in RUN, oldest first
  ls "$1/checkpoints" | sed -n 's/^step-0*\([0-9][0-9]*\)\.safetensors$/\1/p' | sort -n | tr '\n' ' '
}

case "$mode" in
disk)
  variant "$work/run.json" 40 10
  run "$work/whole" || fail "the uninterrupted run failed: $(tail -3 "$work/whole.log")"
  ckpt=$(stat -c %s "$work/whole/checkpoints/step-00000040.safetensors")
  # A file system with room for one checkpoint and a half: checkpoint 10 fits, 20 does not.
  size_kb=$((ckpt * 3 / 2 / 1024 + 64))
  mnt=$work/mnt
  mkdir -p "$mnt"
  unshare -m true 2>/dev/null && unshare -m mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null || {
    echo "cannot mount a tmpfs in a private mount namespace here (unshare -m): skipped"
    exit 77
  }
  export mtmap src work py mnt size_kb
  export -f run expect_failure fail same_run checkpoint_steps
  unshare -m bash -euo pipefail -c '
    mount -t tmpfs -o size=${size_kb}k tmpfs "$mnt"
    echo "== 1. the disk fills up while checkpoint 20 is written (a ${size_kb} KiB file system)"
    expect_failure "$mnt/run" "step-00000020.safetensors.tmp failed: No space left on device"
    [ "$(checkpoint_steps "$mnt/run")" = "10 " ] || fail "checkpoints: $(checkpoint_steps "$mnt/run")"
    [ -z "$(ls "$mnt/run/checkpoints" | grep tmp)" ] || fail "a temporary was left: $(ls "$mnt/run/checkpoints")"
    echo "checkpoint 10 is the only one, whole; no temporary left"

    echo "== 2. the checkpoint folder is read-only when checkpoint 20 is written"
    mount -o remount,size=64m "$mnt"
    mount --bind "$mnt/run/checkpoints" "$mnt/run/checkpoints"
    mount -o remount,bind,ro "$mnt/run/checkpoints"
    expect_failure "$mnt/run" "cannot create .*step-00000020.safetensors.tmp .*: Read-only file system" --resume
    grep -q "resuming .*step-00000010.safetensors at step 10" "$mnt/run.log" || fail "did not resume from step 10"
    umount "$mnt/run/checkpoints"
    [ "$(checkpoint_steps "$mnt/run")" = "10 " ] || fail "checkpoints: $(checkpoint_steps "$mnt/run")"

    echo "== 3. not one free byte when resuming: refused at its first write, nothing changed"
    cp "$mnt/run/metrics.jsonl" "$work/metrics.before"
    cp "$mnt/run/config.json" "$work/config.before"
    dd if=/dev/zero of="$mnt/filler" bs=4096 2>/dev/null || true  # until the file system is full
    expect_failure "$mnt/run" "config.json.tmp failed: No space left on device" --resume
    rm "$mnt/filler"
    cmp "$mnt/run/metrics.jsonl" "$work/metrics.before" || fail "metrics.jsonl changed"
    cmp "$mnt/run/config.json" "$work/config.before" || fail "config.json changed"

    echo "== 4. room again: --resume from checkpoint 10 ends as the uninterrupted run"
    mount -o remount,size=64m "$mnt"
    run "$mnt/run" --resume || fail "resume failed: $(tail -3 "$mnt/run.log")"
    same_run "$work/whole" "$mnt/run"
  '
  echo "all disk fault checks passed"
  ;;

kill)
  trials=${4:-12}
  seed=${MTMAP_FAULT_SEED:-$RANDOM}
  echo "== kill -9 at $trials random moments (MTMAP_FAULT_SEED=$seed)"
  variant "$work/run.json" 200 5
  run "$work/whole" || fail "the uninterrupted run failed: $(tail -3 "$work/whole.log")"
  # The moments: uniform from just after the start to past a second (start-up takes ~0.3 s here,
  # the 200 steps ~8 s), so kills land in start-up, in steps, in resumes and in checkpoint writes.
  mapfile -t delays < <("$py" -c "
import random; r = random.Random($seed)
for _ in range($trials): print(round(r.uniform(0.02, 1.2), 3))")
  out=$work/killed
  mid_write=0
  for i in $(seq 0 $((trials - 1))); do
    args=()
    [ -e "$out/config.json" ] && args=(--resume)
    touch "$work/trial-start"
    "$mtmap" train --config "$work/run.json" --out "$out" --progress lines "${args[@]}" >>"$out.log" 2>&1 &
    pid=$!
    sleep "${delays[$i]}"
    kill -9 "$pid" 2>/dev/null || true
    set +e
    wait "$pid" 2>/dev/null
    rc=$?
    set -e
    [ "$rc" -eq 137 ] || [ "$rc" -eq 0 ] || fail "trial $i: exit status $rc before the kill: $(tail -3 "$out.log")"
    # A temporary written during this trial: the kill landed in a checkpoint write (one left by an
    # earlier kill stays until the next checkpoint's pruning).
    tmp=$(find "$out/checkpoints" -name '*.tmp' -newer "$work/trial-start" 2>/dev/null | wc -l)
    [ "$tmp" -eq 0 ] || mid_write=$((mid_write + 1))
    lines=$([ -e "$out/metrics.jsonl" ] && wc -l <"$out/metrics.jsonl" || echo 0)
    echo "trial $((i + 1)): killed after ${delays[$i]} s ($([ "$rc" -eq 0 ] && echo "already done" || echo "$lines steps logged"),\
 checkpoints: $(checkpoint_steps "$out" 2>/dev/null)$([ "$tmp" -eq 0 ] || echo ", a checkpoint half-written"))"
    [ "$rc" -eq 0 ] && break
  done
  echo "$mid_write of the kills landed while a checkpoint was being written"
  args=()
  [ -e "$out/config.json" ] && args=(--resume)
  [ -e "$out/model.safetensors" ] ||
    run "$out" "${args[@]}" || fail "the last resume failed: $(tail -3 "$out.log")"
  same_run "$work/whole" "$out"
  echo "all kill checks passed"
  ;;

nonfinite)
  variant "$work/run.json" 40 10
  run "$work/whole" || fail "the uninterrupted run failed: $(tail -3 "$work/whole.log")"
  echo "== 1. a NaN in the output of block layer3.0 at step 15 (not a block the spatial loss reads)"
  MTMAP_FAULT_NONFINITE=layer3.0@15 expect_failure "$work/nan" \
    "training stopped at step 15: .* is nan.*the first non-finite value is in the output of block layer3.0 (the input clips and every output before it are finite)"
  [ "$(checkpoint_steps "$work/nan")" = "10 " ] || fail "checkpoints: $(checkpoint_steps "$work/nan")"
  [ "$(wc -l <"$work/nan/metrics.jsonl")" -eq 14 ] || fail "metrics: $(wc -l <"$work/nan/metrics.jsonl") lines, expected 14"
  echo "== 2. the last good checkpoint resumes to the uninterrupted run"
  run "$work/nan" --resume || fail "resume failed: $(tail -3 "$work/nan.log")"
  same_run "$work/whole" "$work/nan"
  echo "== 3. in the stem, before the first checkpoint"
  MTMAP_FAULT_NONFINITE=stem@3 expect_failure "$work/stem" "at step 3: .*the first non-finite value is in the stem's output"
  [ -z "$(checkpoint_steps "$work/stem")" ] || fail "a checkpoint was written: $(checkpoint_steps "$work/stem")"
  echo "== 4. a malformed MTMAP_FAULT_NONFINITE is an error, not a run without the fault"
  MTMAP_FAULT_NONFINITE=layer3.0 expect_failure "$work/bad" "MTMAP_FAULT_NONFINITE = 'layer3.0': each item must be"
  echo "all non-finite checks passed"
  ;;

oom)
  "$py" - "$src/experiments/smoke.json" "$work/run.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
# A step that needs more than 2 GiB of address space beyond start-up (width 32, 16×112×112 clips,
# batch 16; measured in a build without CUDA: it fails under 2.5 GiB in all and runs under 3.5).
c["model"].update({"width": 32, "frames": 16, "size": 112})
c["data"].update({"dead_leaves_size": 128, "dead_leaves_frames": 20, "videos_per_epoch": 32})
c["training"].update({"batch_size": 16, "queue_size": 64})
json.dump(c, open(sys.argv[2], "w"))
PY
  # The address space mtmap needs just to start (its libraries mapped: a CUDA build maps cuBLAS's
  # hundreds of MiB; OpenBLAS's first buffer taken at load), found by bisection; the limits below
  # are set above it. (Below it OpenBLAS hangs while loading, before main(): docs/reliability.md.)
  starts_within() { (ulimit -v $(($1 * 1024)) && timeout 5 "$mtmap" train --help >/dev/null 2>&1); }
  lo=64
  hi=16384
  starts_within $hi || fail "mtmap does not start even under ulimit -v $hi MiB"
  while [ $((hi - lo)) -gt 16 ]; do
    mid=$(((lo + hi) / 2))
    if starts_within $mid; then hi=$mid; else lo=$mid; fi
  done
  base=$hi
  echo "mtmap starts within $base MiB of address space"
  # fails_within NAME MIB PATTERN: the run under `ulimit -v MIB` exits 1 (not a crash, not a hang)
  # with an error matching PATTERN, and leaves no temporary.
  fails_within() {
    local rc=0
    (ulimit -v $(($2 * 1024)) && timeout 300 "$mtmap" train --config "$work/run.json" --out "$work/$1" \
      --progress lines >"$work/$1.log" 2>&1) || rc=$?
    [ "$rc" -eq 1 ] || fail "exit status $rc, expected 1: $(tail -3 "$work/$1.log")"
    grep -q "^mtmap: error: $3" "$work/$1.log" || fail "no error matching '$3': $(tail -3 "$work/$1.log")"
    grep "^mtmap: error" "$work/$1.log"
    [ -z "$(find "$work/$1" -name '*.tmp' 2>/dev/null)" ] || fail "a temporary was left"
  }
  echo "== ulimit -v $((base + 1200)) MiB: room for the model, not for its step"
  fails_within oom $((base + 1200)) ".*out of memory.*; no checkpoint was written yet"
  echo "== ulimit -v $((base + 200)) MiB: too little for OpenBLAS's buffers: an error at the start, not a hang"
  fails_within blas $((base + 200)) "out of memory at the start: OpenBLAS's work buffers"
  echo "all out-of-memory checks passed"
  ;;
*)
  echo "cli_faults.sh: no mode '$mode' (disk, kill, nonfinite, oom)"
  exit 2
  ;;
esac
