#!/usr/bin/env bash
# The one script a GPU machine runs (H100/H200, 16 cores, ~8 minutes): set up, build the CUDA
# backend for sm_90 in Release, run the CUDA tests (and optionally compute-sanitizer), run every GPU
# benchmark under build-device/bench, then print a short summary table LAST.
#
#   tools/device-check.sh [--memcheck]
#
# Before it, here: tools/emu-slow.sh (the emulated CUDA suite under several schedules, the slow
# conv3d parity tests included), so the GPU's minutes go to what only a GPU can show.
# Through the device tool: first `git rev-parse --short HEAD > .device-commit` (the tree travels
# without .git), then run it with carry [".devdeps", ".device-commit"] (both git-ignored locally).
#
# Logs go to $OUT when it is set (else build-device/device-check-logs). Exits non-zero when the
# build fails or any CUDA test fails (skipped tests on a GPU machine also count as a failure:
# they mean the GPU was not usable).
set -uo pipefail

memcheck=0
for arg in "$@"; do
  case "$arg" in
    --memcheck) memcheck=1 ;;
    -h | --help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "device-check: unknown argument $arg" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${MTMAP_DEVICE_BUILD_DIR:-$root/build-device}"  # overridable for a dry run of this script
logs="${OUT:-$build/device-check-logs}"
mkdir -p "$logs"
jobs="$(nproc)"
start=$(date +%s)
status=0
export PATH="/usr/local/cuda/bin:/usr/local/cuda/compute-sanitizer:$PATH"

step() { echo "== device-check: $* ($(( $(date +%s) - start )) s)"; }

step "setup"
tools/setup.sh > "$logs/setup.log" 2>&1 || echo "device-check: setup.sh failed (offline?), trying the build anyway; see setup.log"

# GPU machines have no network and not all of our Debian packages: a folder .devdeps/ of .deb files
# (made beside the checkout with `apt-get download catch2 libfmt-dev libfmt9 nlohmann-json3-dev
# libopenblas-openmp-dev libopenblas0-openmp libopenblas-dev libgfortran5 libquadmath0`, carried with
# the run) is unpacked into a private prefix, and only the engine, models and losses are built.
extra_cmake=(-DMTMAP_TORCH_PYTHON="$(command -v python3 || echo /usr/bin/python3)")
targets=()
if ! pkg-config --exists libavformat fftw3 2>/dev/null || ! [ -f /usr/include/CLI/CLI.hpp ]; then
  if [ -d "$root/.devdeps" ]; then
    deps=/opt/mtmap-deps
    mkdir -p "$deps"
    for deb in "$root"/.devdeps/*.deb; do dpkg -x "$deb" "$deps"; done
    export CMAKE_PREFIX_PATH="$deps/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
    export PKG_CONFIG_SYSROOT_DIR="$deps"
    export PKG_CONFIG_PATH="$deps/usr/lib/x86_64-linux-gnu/openblas-openmp/pkgconfig"
    export CPATH="$deps/usr/include${CPATH:+:$CPATH}"
    export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:$deps/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:$deps/usr/lib/x86_64-linux-gnu/openblas-openmp${LIBRARY_PATH:+:$LIBRARY_PATH}"
  fi
  extra_cmake+=(-DMTMAP_MINIMAL=ON)
  targets=(--target test_cuda --target test_io_cuda --target bench_losses --target bench_norm_pool_cuda --target bench_conv3d_cuda
           --target bench_train_step_cuda --target test_training_cuda)
fi

step "configure"
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
if ! cmake -S "$root" -B "$build" "${generator[@]}" -DMTMAP_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
      -DCMAKE_BUILD_TYPE=Release "${extra_cmake[@]}" > "$logs/configure.log" 2>&1; then
  tail -30 "$logs/configure.log"
  build_result="configure FAILED"
  status=1
fi

# NCCL (data parallel on GPUs) where the machine has it: a group of one on its GPU.
if [ ${#targets[@]} -gt 0 ] && grep -q "data parallel with MPI .*, NCCL ON" "$logs/configure.log"; then
  targets+=(--target test_dist_nccl)
fi

if [ $status -eq 0 ]; then
  step "build on $jobs cores"
  if timeout 300 cmake --build "$build" -j "$jobs" "${targets[@]}" > "$logs/build.log" 2>&1; then
    build_result="ok ($(grep -c 'warning:' "$logs/build.log") compiler warnings)"
  else
    tail -40 "$logs/build.log"
    build_result="FAILED"
    status=1
  fi
fi

passed=0 failed=0 skipped=0 total=0
if [ $status -eq 0 ]; then
  step "ctest -L cuda"
  (cd "$build" && timeout 240 ctest -L cuda -j 4 --output-on-failure --timeout 120) > "$logs/ctest-cuda.log" 2>&1
  ctest_rc=$?
  passed=$(grep -cE 'Test +#[0-9]+: .* Passed' "$logs/ctest-cuda.log")
  skipped=$(grep -cE 'Test +#[0-9]+: .*\*\*\*Skipped' "$logs/ctest-cuda.log")
  failed=$(grep -cE 'Test +#[0-9]+: .*\*\*\*(Failed|Exception|Timeout)|Test +#[0-9]+: .*(SEGFAULT|Child aborted)' \
    "$logs/ctest-cuda.log")
  total=$(grep -cE 'Test +#[0-9]+: ' "$logs/ctest-cuda.log")
  grep -E 'Test +#[0-9]+: ' "$logs/ctest-cuda.log" | grep -v ' Passed' || true
  if [ $ctest_rc -ne 0 ] || [ "$failed" -ne 0 ] || [ "$skipped" -ne 0 ] || [ "$total" -eq 0 ]; then status=1; fi
fi

memcheck_result="not run (pass --memcheck)"
if [ $memcheck -eq 1 ] && [ -x "$build/tests/test_cuda" ]; then
  step "compute-sanitizer memcheck"
  if command -v compute-sanitizer > /dev/null; then
    # The small tests only: memcheck slows kernels ~100x. API errors are not reported: the
    # allocator test provokes a cudaMalloc failure on purpose.
    if timeout 180 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 9 "$build/tests/test_cuda" \
          "[allocator],[index],[gemm],[bn_small],[pool_small],[optim],[conv3d_memcheck]" > "$logs/memcheck.log" 2>&1; then
      memcheck_result="clean"
    else
      memcheck_result="ERRORS or timeout (see memcheck.log)"
      tail -30 "$logs/memcheck.log"
      status=1
    fi
  else
    memcheck_result="compute-sanitizer not found"
  fi
fi

step "benchmarks"
# Each benchmark's JSON lines stay in its log; its table (the lines that are not JSON) is printed
# here, above the summary, and the summary keeps one line per benchmark so it stays short.
bench_lines=()
if [ -d "$build/bench" ]; then
  while IFS= read -r exe; do
    name="$(basename "$exe")"
    if timeout 120 "$exe" > "$logs/bench-$name.log" 2>&1; then
      bench_lines+=("$name: ok, $(grep -cE '^\{' "$logs/bench-$name.log") JSON lines in bench-$name.log")
    else
      bench_lines+=("$name: FAILED (see bench-$name.log)")
      status=1
    fi
    echo
    echo "---- $name ----"
    grep -vE '^\{' "$logs/bench-$name.log" | sed '/^$/d' | tail -80
  done < <(find "$build/bench" -maxdepth 2 -type f -executable -name 'bench_*' | sort)
  # One bench_train_step_cuda run: LABEL, LOG name, TIMEOUT seconds, then its arguments; its
  # mtmap/PyTorch lines go to the summary, its table is printed.
  train_step_bench() {
    local label="$1" log="$logs/bench-$2.log" limit="$3"
    shift 3
    if timeout "$limit" "$build/bench/bench_train_step_cuda" "$@" > "$log" 2>&1; then
      bench_lines+=("$label: $(grep -E '^mtmap|^PyTorch|^video' "$log" | tr -s ' ' | paste -sd ';' -)")
    else
      bench_lines+=("$label: FAILED (see $(basename "$log"))")
      status=1
    fi
    echo
    echo "---- $label ----"
    grep -vE '^\{' "$log" | sed '/^$/d' | tail -20
  }
  if [ -x "$build/bench/bench_train_step_cuda" ]; then
    # The whole MoCo training step at the preprint's scale (width 64, 16×112×112, batch 64, queue
    # 65536) against PyTorch's on the same GPU (docs/training.md, issue #14's benchmark).
    train_step_bench "moco step (full scale)" moco 150 --moco --batch 64 --reps 3
    # bf16 mixed precision (training.precision = "bf16") against PyTorch under autocast(bfloat16):
    # the plain step at the preprint's size, batch 32.
    train_step_bench "bf16 step (full scale, batch 32)" bf16 120 --bf16 --batch 32 --reps 3
  fi
fi
[ ${#bench_lines[@]} -eq 0 ] && bench_lines=("(no GPU benchmarks built yet)")

card="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet 2>/dev/null || echo '+dirty')"
# The device tool copies the working tree without .git: the caller writes the commit beside it
# (`git rev-parse --short HEAD > .device-commit`, carried like .devdeps).
[ -z "${commit%+dirty}" ] && [ -f "$root/.device-commit" ] && commit="$(cat "$root/.device-commit") (from .device-commit)"
{
  echo
  echo "================ device-check summary ================"
  printf '%-12s %s\n' "card" "${card:-nvidia-smi unavailable}"
  printf '%-12s %s\n' "commit" "${commit:-unknown}"
  printf '%-12s %s\n' "build" "${build_result:-not run}"
  printf '%-12s %s\n' "cuda tests" "passed $passed, failed $failed, skipped $skipped (of $total)"
  printf '%-12s %s\n' "memcheck" "$memcheck_result"
  for line in "${bench_lines[@]}"; do printf '%-12s %s\n' "bench" "$line"; done
  printf '%-12s %s\n' "time" "$(( $(date +%s) - start )) s"
  printf '%-12s %s\n' "result" "$([ $status -eq 0 ] && echo PASS || echo FAIL)"
} | tee "$logs/summary.txt"
exit $status
