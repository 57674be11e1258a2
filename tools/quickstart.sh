#!/usr/bin/env bash
# Sets up, builds and runs the main job at the quickstart scale (experiments/quickstart.json: r3d
# stem, width 16, 8×64×64 clips of generated dead-leaves video, batch 16, queue 4096, α = 0.5 on
# all 8 blocks): `mtmap info`, a short training run (150 steps of MoCo v2 + the spatial loss,
# about 3 minutes on 2 cores) into quickstart-run/train, then the tuning and map analysis of its
# layer3.1 with the HTML report in quickstart-run/analysis. 150 steps run the whole machinery; they
# are far from the training the preprint's maps need (docs/training.md says how far).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTMAP_CUDA=AUTO >/dev/null
cmake --build build -j "$(nproc)" --target mtmap
./build/tools/mtmap info
out=quickstart-run
mkdir -p "$out"
if [ -e "$out/train/checkpoints" ]; then
  ./build/tools/mtmap train --config experiments/quickstart.json --out "$out/train" --resume
else
  ./build/tools/mtmap train --config experiments/quickstart.json --out "$out/train"
fi
./build/tools/mtmap analyze --checkpoint "$out/train/model.safetensors" --config experiments/quickstart.json \
  --out "$out/analysis" --report
echo "quickstart: open $out/analysis/report.html"
