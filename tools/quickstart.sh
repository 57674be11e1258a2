#!/usr/bin/env bash
# Sets up, builds and runs the main job. Training (`mtmap run experiment.json`) does not exist yet,
# so the quickstart shows the rest of the pipeline on an UNTRAINED model at the quickstart scale
# (r3d stem, width 16, 8×64×64 clips): `mtmap info`, a randomly initialised checkpoint with its
# cortical sheet, and the full tuning/map analysis of layer3.1 with the HTML report, in
# quickstart-run/ (a few seconds on 2 cores). An untrained network's tuning is not MT's: this
# runs the machinery, it does not reproduce the preprint.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTMAP_CUDA=AUTO >/dev/null
cmake --build build -j "$(nproc)" --target mtmap
./build/tools/mtmap info
out=quickstart-run
mkdir -p "$out"
./build/tools/mtmap init-checkpoint --config experiments/untrained_probe.json --out "$out/untrained.safetensors" \
  --seed 1 --force
./build/tools/mtmap analyze --checkpoint "$out/untrained.safetensors" --config experiments/untrained_probe.json \
  --out "$out/analysis" --label untrained --report
echo "quickstart: open $out/analysis/report.html"
