#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into build-fuzz/ and runs one of them
# (docs/reliability.md). CI does not fuzz: it replays fuzz/corpus and fuzz/regressions through every
# target in the normal builds (CTest label `fuzz`).
#
#   tools/fuzz.sh build                     configure and build every target (build-fuzz/)
#   tools/fuzz.sh TARGET [-runs=N | -max_total_time=S] [libFuzzer flags...]
#                                           build, then fuzz TARGET (npy, safetensors, model_spec,
#                                           train_config, experiment, unit_table, video_list,
#                                           video_reader) with one process, starting from a scratch
#                                           copy of its corpus (build-fuzz/work/TARGET) and the
#                                           checked-in seeds; crashes land in build-fuzz/crashes/TARGET/
#   tools/fuzz.sh TARGET FILE...            build, then run TARGET once on each FILE (reproduce a crash)
#
# A crashing input found is a finding: fix the parser, then keep the input as
# fuzz/regressions/TARGET/<what-it-was> so the CI replay guards the fix.
# Environment: JOBS (build parallelism, default 1), CCACHE_DIR/CCACHE_BASEDIR are passed to ccache;
# FFMPEG_PREFIX: link the targets against the FFmpeg built there by tools/ffmpeg_asan.sh (with
# AddressSanitizer) instead of the system's, building into build-fuzz-ffmpeg-asan/.
# GUARD=overflow|underflow: build without AddressSanitizer (UBSan only, into build-fuzz-guard/) and
# run under tools/guarded_malloc.c, which puts a guard page after (or before) every heap block of
# GUARD_MIN_SIZE bytes or more (default 256), so that a write out of bounds by code ASan cannot see
# (FFmpeg's assembly) faults at once, with the input that did it (docs/reliability.md). Stop such a
# run with -max_total_time or kill -9: Ctrl-C can hang at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${JOBS:-1}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

targets=(npy safetensors model_spec train_config experiment unit_table video_list video_reader)
target=${1:-}
[ -n "$target" ] || { sed -n '2,20p' "$0"; exit 2; }
shift

dir=build-fuzz
env_ffmpeg=()
if [ -n "${FFMPEG_PREFIX:-}" ]; then
  dir=build-fuzz-ffmpeg-asan
  env_ffmpeg=(PKG_CONFIG_PATH="$FFMPEG_PREFIX/lib/pkgconfig")
  export LD_LIBRARY_PATH="$FFMPEG_PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

sanitizers=address,undefined
guard_lib=
if [ -n "${GUARD:-}" ]; then
  case "$GUARD" in overflow|underflow) ;; *) echo "fuzz.sh: GUARD must be overflow or underflow, not '$GUARD'"; exit 2;; esac
  [ -z "${FFMPEG_PREFIX:-}" ] || { echo "fuzz.sh: GUARD and FFMPEG_PREFIX do not mix (the ASan FFmpeg needs ASan)"; exit 2; }
  dir=build-fuzz-guard
  sanitizers=undefined
  guard_lib=$PWD/$dir/libguarded_malloc.so
fi

build() {
  env "${env_ffmpeg[@]}" CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMTMAP_CUDA=OFF \
    -DMTMAP_FUZZ=ON -DMTMAP_FUZZ_SANITIZERS="$sanitizers" -DMTMAP_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs" --target "$@"
  if [ -n "$guard_lib" ]; then
    # Renamed into place: a guarded run still going keeps the library it loaded.
    clang -O2 -Wall -Wextra -shared -fPIC tools/guarded_malloc.c -o "$guard_lib.new" -lpthread -ldl
    mv "$guard_lib.new" "$guard_lib"
  fi
}

if [ "$target" = build ]; then
  build "${targets[@]/#/fuzz_}"
  exit 0
fi
printf '%s\n' "${targets[@]}" | grep -qx "$target" || { echo "fuzz.sh: no target '$target' (targets: ${targets[*]})"; exit 2; }
build "fuzz_$target"

# ASan: a huge allocation is a finding, not an abort of the whole run without a reproducer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
bin=$dir/fuzz/fuzz_$target
[ -z "$guard_lib" ] || export LD_PRELOAD="$guard_lib"
if [ $# -gt 0 ] && [ -f "$1" ]; then
  exec "$bin" "$@"
fi
work=$dir/work/$target
crashes=$dir/crashes/$target
mkdir -p "$work" "$crashes"
# New inputs go to the scratch corpus (first folder); the checked-in seeds and regressions are read only.
seeds=(fuzz/corpus/$target)
[ -d fuzz/regressions/$target ] && seeds+=(fuzz/regressions/$target)
extra=()
[ -f fuzz/dict/$target.dict ] && extra+=(-dict=fuzz/dict/$target.dict)
exec "$bin" "$work" "${seeds[@]}" -artifact_prefix="$crashes/" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
  -timeout=25 -print_final_stats=1 "${extra[@]}" "$@"
