#!/usr/bin/env bash
# Installs what the build needs (Debian/Ubuntu), builds everything (with the CUDA backend when
# nvcc is found) and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
build=${TLC_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTLC_CUDA=${TLC_CUDA:-AUTO}
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
