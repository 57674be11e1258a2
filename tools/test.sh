#!/usr/bin/env bash
# Sets up, builds and runs every test. What CI runs (.ci/run), and what a newcomer runs first.
#   tools/test.sh             release build in build/, then the ASan+UBSan build in build-asan/,
#                             then the CUDA backend on the CPU emulator in build-emu/
#   tools/test.sh --quick     the release build only
# CUDA tests are built whenever nvcc is found and report "skipped" where no GPU exists.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)
# Tests run side by side: OpenMP workers that spin while waiting would steal each other's cores.
export OMP_WAIT_POLICY=PASSIVE

tools/setup.sh
# The layering first: a misplaced #include fails in a second, before any build.
python3 tools/check_layers.py

echo "== release build (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTMAP_CUDA=AUTO >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

if [ "$quick" -eq 0 ]; then
  # The sanitizers check the CPU engine; CUDA is left out because the CUDA runtime and
  # AddressSanitizer's shadow memory do not mix without a driver to talk to.
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMTMAP_CUDA=OFF -DMTMAP_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$jobs"
  # Left out here for time (CI's aim is 45 minutes; under the sanitizers these four took 321 s of
  # the suite's 1,240): emulated-kernel parity tests on more shapes, each of whose kernels and
  # launcher branches the sanitized "conv3d launchers: every algorithm and dtype" and "batch
  # norm matches the CPU kernels" tests still run; the release build above runs all four.
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$jobs" \
     -E "emulated stem conv3d: bf16 and TF32 fprop and wgrad equal|emulated igemm conv3d: tf32 dgrad equals|emulated igemm conv3d: stride-phase dgrad equals|more than 1024 chunks' worth per channel")

  # The CUDA test suite for real on the CPU emulator (docs/cuda-emulator.md): every kernel file
  # compiled by the host compiler, "the GPU" an emulated device. Not a GPU run; it checks the
  # backend's logic on every commit. Left out for time: the three tests that take minutes each
  # on the emulator (they run under tools/device-check.sh on a GPU).
  echo "== emulated CUDA build (build-emu/)"
  cmake -S . -B build-emu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTMAP_CUDA=EMU -DMTMAP_MINIMAL=ON >/dev/null
  cmake --build build-emu -j "$jobs" --target test_cuda test_io_cuda test_training_cuda bench_train_step_cuda
  (cd build-emu && ctest --output-on-failure -j "$jobs" -L cuda --timeout 900 \
     -E "match the float64 direct loops|stride over more rows than one grid|r3d-18 layer shapes")
fi
echo "== all tests passed"
