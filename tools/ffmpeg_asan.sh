#!/usr/bin/env bash
# Builds the FFmpeg that Debian ships (the same source package, its patches applied) with clang's
# AddressSanitizer and without assembly, so that a memory error inside FFmpeg is caught where it
# happens when fuzzing the video reader (docs/reliability.md). Debian's own libraries are not
# instrumented: a write into freed memory there shows only later, if at all, as heap corruption.
#
#   tools/ffmpeg_asan.sh [PREFIX]        default PREFIX: build-ffmpeg-asan/ (about 10 minutes on 2 cores)
#   FFMPEG_PREFIX=PREFIX tools/fuzz.sh video_reader -max_total_time=1800
#
# Built: every demuxer, parser and bitstream filter, the video decoders (no audio: the reader
# discards other streams), zlib and bzip2 (compressed Matroska tracks), swscale. The decoders of
# external libraries (libdav1d, libvpx) are left out; the reader prefers FFmpeg's own where both
# exist. Needs deb-src in apt's sources; this script adds it if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(realpath -m "${1:-build-ffmpeg-asan}")
work=$prefix/src
mkdir -p "$work"
version=$(dpkg-query -W -f '${Version}' libavcodec-dev)
if [ ! -d "$work/ffmpeg" ]; then
  if ! grep -qs 'deb-src' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; then
    sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
    apt-get update -q >/dev/null
  fi
  (cd "$work" && apt-get source -q --download-only "ffmpeg=$version" >/dev/null)
  tar -C "$work" -xf "$work"/ffmpeg_*.orig.tar.xz
  mv "$work"/ffmpeg-[0-9]* "$work/ffmpeg"
  tar -C "$work/ffmpeg" -xf "$work"/ffmpeg_*.debian.tar.xz
  (cd "$work/ffmpeg" && grep -v '^#' debian/patches/series | while read -r p; do patch -p1 -s < "debian/patches/$p"; done)
fi
cd "$work/ffmpeg"
# The video decoders: allcodecs.c lists them before its "audio codecs" comment.
decoders=$(sed -n '1,/audio codecs/p' libavcodec/allcodecs.c | grep -o 'ff_[a-z0-9_]*_decoder' |
           sed 's/^ff_//; s/_decoder$//' | sort -u | paste -sd,)
./configure --prefix="$prefix" --cc=clang --cxx=clang++ --toolchain=clang-asan --disable-asm --disable-programs \
  --disable-doc --disable-everything --disable-network --disable-autodetect --enable-zlib --enable-bzlib \
  --enable-shared --disable-static --enable-demuxers --enable-parsers --enable-bsfs --enable-protocol=file \
  --enable-protocol=pipe --enable-swscale --disable-avfilter --disable-avdevice --enable-decoder="$decoders" \
  --extra-cflags="-g -O1 -fno-omit-frame-pointer" >/dev/null
make -j"$(nproc)" >/dev/null
make install >/dev/null
echo "FFmpeg $version with AddressSanitizer in $prefix (FFMPEG_PREFIX=$prefix tools/fuzz.sh video_reader ...)"
