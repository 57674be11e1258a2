#!/usr/bin/env bash
# Sets up, builds and runs the main job. Until the quickstart experiment exists this is
# `mtmap info`: the version, the backends compiled in and the devices found.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTMAP_CUDA=AUTO >/dev/null
cmake --build build -j "$(nproc)" --target mtmap
./build/tools/mtmap info
