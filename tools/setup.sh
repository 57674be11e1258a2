#!/usr/bin/env bash
# Installs every Debian package the build and the tests need. Idempotent: when everything is
# already present it checks with dpkg and returns in well under a second.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libopenblas-openmp-dev  # CPU GEMM, on the same OpenMP thread pool as the engine
  catch2               # tests (Catch2 v2)
  libcli11-dev         # command-line parsing
  libfmt-dev           # text formatting
  nlohmann-json3-dev   # experiment configs
  python3-torch        # the PyTorch parity tests and the CPU benchmark peer (Debian's 1.13)
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev  # video decoding (io/)
  ffmpeg               # tests encode fixtures with it and use it as the decode reference
  libfftw3-dev         # analysis: power spectrum of direction maps (column spacing)
  libpng-dev           # analysis: map figures
  libopenmpi-dev openmpi-bin  # data parallel training across processes and nodes (engine/dist/)
)

# Optional: the report test opens the HTML report in headless Chromium and is skipped without it.
optional_packages=(
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

missing_optional=()
for p in "${optional_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_optional+=("$p")
done
if [ ${#missing_optional[@]} -gt 0 ]; then
  echo "setup: installing optional ${missing_optional[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing_optional[@]}" ||
    echo "setup: optional ${missing_optional[*]} not installed; the tests that need them will be skipped"
fi

# nvcc is optional: without it the CUDA backend is simply not built (-DMTMAP_CUDA=AUTO).
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: nvcc found, the CUDA backend will be built"
else
  echo "setup: no nvcc, building the CPU backend only"
fi
