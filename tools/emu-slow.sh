#!/usr/bin/env bash
# The emulated CUDA tests CI leaves out for time, and the whole emulated suite under more
# schedules than CI's one: run it here before every device run (tools/device-check.sh), so a GPU's
# 15 minutes are not spent on what the emulator could have caught (docs/cuda-emulator.md).
#
#   tools/emu-slow.sh [SCHEDULE ...]
#
# A SCHEDULE is ORDER/LANDING/SEED (ORDER: ascending, descending, random; LANDING: wait, issue,
# random); default: random/random/1 descending/issue/1 ascending/wait/1 random/random/7.
# Each runs, in build-emu/, the emulator's own tests (test_cuda_emu) and every CUDA test of the
# emulated build, the conv3d parity tests at r3d layer shapes included (minutes each). Exits
# non-zero when any of them fails; the log of each schedule is build-emu/emu-slow-<schedule>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

schedules=("$@")
[ ${#schedules[@]} -eq 0 ] && schedules=(random/random/1 descending/issue/1 ascending/wait/1 random/random/7)
for s in "${schedules[@]}"; do
  IFS=/ read -r order landing seed <<<"$s"
  case "$order/$landing" in
    ascending/* | descending/* | random/*) ;;
    *) echo "emu-slow: bad schedule '$s' (ORDER/LANDING/SEED)" >&2; exit 2 ;;
  esac
  case "$landing" in wait | issue | random) ;; *) echo "emu-slow: bad landing in '$s'" >&2; exit 2 ;; esac
  [[ "$seed" =~ ^[0-9]+$ ]] || { echo "emu-slow: bad seed in '$s'" >&2; exit 2; }
done

jobs=$(nproc)
export OMP_WAIT_POLICY=PASSIVE
cmake -S . -B build-emu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTMAP_CUDA=EMU -DMTMAP_MINIMAL=ON >/dev/null
cmake --build build-emu -j "$jobs" --target test_cuda test_io_cuda test_training_cuda test_cuda_emu

failed=()
for s in "${schedules[@]}"; do
  IFS=/ read -r order landing seed <<<"$s"
  log="build-emu/emu-slow-${order}-${landing}-${seed}.log"
  echo "== emu-slow: thread order $order, cp.async landing $landing, seed $seed ($log)"
  start=$(date +%s)
  if (cd build-emu && MTMAP_EMU_ORDER=$order MTMAP_EMU_CP_ASYNC=$landing MTMAP_EMU_SEED=$seed \
        ctest --output-on-failure -j "$jobs" -L "cuda|emu" --timeout 3600) >"$log" 2>&1; then
    echo "   passed in $(( $(date +%s) - start )) s: $(grep -E 'tests passed' "$log" | tail -1)"
  else
    echo "   FAILED after $(( $(date +%s) - start )) s: $(grep -E 'tests passed|tests failed' "$log" | tail -1)"
    grep -E "^\s+[0-9]+ - .*\(Failed\)" "$log" | head -20 || true
    failed+=("$s")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "emu-slow: failed under ${failed[*]}"
  exit 1
fi
echo "emu-slow: every schedule passed"
