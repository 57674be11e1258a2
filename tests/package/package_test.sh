#!/usr/bin/env bash
# The engine as an installed package, used as an outside project would (docs/api.md):
#   1. cmake --install BUILD into a fresh prefix;
#   2. every installed header on its own against that prefix (tests/package/headers: preprocessed by
#      default, MTMAP_HEADER_CHECK=compile to parse each);
#   3. examples/tdann2d, copied out of the tree, configures with CMAKE_PREFIX_PATH=prefix only,
#      builds, and trains and analyses briefly (--steps STEPS).
# Usage: package_test.sh SOURCE_DIR BUILD_DIR CMAKE CXX_COMPILER [STEPS]
# Everything happens under BUILD_DIR/package-test/ (removed first; left for a look after a
# failure). The paths stay the same from run to run, so a compiler cache hits.
set -euo pipefail
src=$1 build=$2 cmake=$3 cxx=$4 steps=${5:-6}
work=$build/package-test
rm -rf "$work"
mkdir -p "$work"
t0=$(date +%s)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
launcher=()
[ -n "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER="$CMAKE_CXX_COMPILER_LAUNCHER")
jobs=$(nproc)

echo "== install into $work/prefix"
"$cmake" --install "$build" --prefix "$work/prefix" >"$work/install.log"
echo "installed: $(find "$work/prefix/include" -name '*.h' | wc -l) headers, $(ls "$work/prefix/lib"/*.a | wc -l) libraries"
# Nothing private made it in.
for private in engine/backend/cpu_backend.h engine/backend/cuda_backend.h kernels/cpu kernels/cuda tools study; do
  if [ -e "$work/prefix/include/mtmap/$private" ]; then
    echo "FAIL: $private is installed"; exit 1
  fi
done

# The outside projects see the prefix and their own folder, nothing of the source tree.
cp -r "$src/examples/tdann2d" "$work/tdann2d-src"
cp -r "$src/tests/package/headers" "$work/headers-src"
outside=(-DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}")

echo "== every installed header on its own"
# Preprocessed alone by default (seconds); MTMAP_HEADER_CHECK=compile parses each alone (minutes).
"$cmake" -S "$work/headers-src" -B "$work/headers-build" "${gen[@]}" "${outside[@]}" \
  -DMTMAP_HEADER_CHECK="${MTMAP_HEADER_CHECK:-preprocess}" >"$work/headers-configure.log"
"$cmake" --build "$work/headers-build" -j "$jobs" >"$work/headers-build.log" || { cat "$work/headers-build.log"; exit 1; }
echo "$(grep -o '[0-9]* installed headers.*' "$work/headers-configure.log") alone: fine ($(( $(date +%s) - t0 )) s so far)"

echo "== examples/tdann2d against the installed package"
"$cmake" -S "$work/tdann2d-src" -B "$work/tdann2d-build" "${gen[@]}" "${outside[@]}" >"$work/tdann2d-configure.log" \
  || { cat "$work/tdann2d-configure.log"; exit 1; }
grep "mtmap .* from" "$work/tdann2d-configure.log" | sed 's/^-- //'
"$cmake" --build "$work/tdann2d-build" -j "$jobs" >"$work/tdann2d-build.log" || { cat "$work/tdann2d-build.log"; exit 1; }
# (The build folder may sit inside the source tree, so look for the tree's source folders.)
if grep -Eq -- "$src/(engine|kernels|formats|models|losses|cortex|io|training|analysis|examples)/" \
     "$work/tdann2d-build/build.ninja" "$work/tdann2d-build/CMakeCache.txt" 2>/dev/null; then
  echo "FAIL: the example's build refers to the source tree $src"; exit 1
fi
echo "built ($(( $(date +%s) - t0 )) s so far)"
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} "$work/tdann2d-build/tdann2d" --steps "$steps" --batch 16 --out "$work/tdann2d-out"
for f in tdann2d.safetensors sheet.safetensors orientation_map.json; do
  [ -s "$work/tdann2d-out/$f" ] || { echo "FAIL: tdann2d wrote no $f"; exit 1; }
done
echo "package test passed in $(( $(date +%s) - t0 )) s"
