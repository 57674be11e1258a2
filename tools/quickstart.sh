#!/usr/bin/env bash
# Sets up, builds and runs the main job at the quickstart scale: `mtmap run
# experiments/quickstart.json` — a small r3d (width 16, 8×64×64 clips of generated dead-leaves
# video) pre-trained once, its 8 cortical sheets swap-optimised, then trained at α = 0 and at
# α = 0.5, and the layer3.1 of each probed with drifting gratings — into quickstart-run/, with the
# study report in quickstart-run/report.html. About 12 minutes on 2 cores once built
# (docs/perf/quickstart.md). Interrupted, the same command continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTMAP_CUDA=AUTO >/dev/null
cmake --build build -j "$(nproc)" --target mtmap
./build/tools/mtmap info
./build/tools/mtmap run experiments/quickstart.json --out quickstart-run
echo "quickstart: open quickstart-run/report.html"
