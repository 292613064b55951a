#!/usr/bin/env bash
# The main job, start to finish, on the embedded photos (4 min 09 s measured on a 2-core CPU, plus
# the apt-get install on a machine that lacks the compiler and CMake):
#   1. build the `tlc` command (CPU only; installs what it needs with apt-get);
#   2. train a small blind denoiser (a UNet with group norm in its encoder blocks, the paper's "GN"
#      variant) on 64x64 patches of 16 photos, noise level drawn per patch;
#   3. restore the 4 held-out full-size photos — degraded by noise whose level varies across the
#      image — globally, with TLC and with tiles, and print the PSNR / SSIM / time table;
#   4. write side-by-side PNGs [noisy | global | tlc | tile | clean] to runs/demo/compare/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
iters=${TLC_DEMO_ITERS:-1500}
build=${TLC_BUILD_DIR:-build-demo}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTLC_CUDA=OFF -DTLC_BUILD_TESTS=OFF > /dev/null
cmake --build "$build" --target tlc_cli -j"$(nproc)"
tlc="$build/cli/tlc"

mkdir -p runs
rm -rf runs/demo
"$tlc" train --out runs/demo --set model.arch=unet --set model.module=gn --set train.iters="$iters"

# The held-out photos are every 5th by name (data.holdout_every=5): gather them for evaluation.
bash scripts/heldout_photos.sh data/photos runs/demo/val
"$tlc" eval -m runs/demo/model.safetensors --data runs/demo/val --degrade auto --modes global,tlc,tile \
  --json runs/demo/eval.json --save runs/demo/compare
echo
echo "model: runs/demo/model.safetensors   results: runs/demo/eval.json   images: runs/demo/compare/"
