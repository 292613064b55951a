#!/usr/bin/env bash
# The paper's Table 7 on our photos: the UNet with each global module (IN, HIN, GN, GE, SE, CBAM),
# plus NAFNet (SCA), trained on 64x64 patches and evaluated on the held-out full-size photos
# globally, with TLC and tiled, under a uniform and a spatially varying degradation, plus the no-op
# control: 96x96 crops (= the TLC window), where TLC must equal global exactly ("ctrl" column).
#   examples/table7_study.sh [TLC_BINARY] [ITERS] [SEEDS...]
# Results: runs/table7/<variant>-s<seed>/{model.safetensors,eval-*.json}; a summary table on stdout.
set -euo pipefail
tlc=${1:-build/cli/tlc}
iters=${2:-1500}
shift 2 2>/dev/null || true
seeds=("${@:-42}")
out=runs/table7
bash scripts/heldout_photos.sh data/photos "$out/val"
variants=("unet:in" "unet:hin" "unet:gn" "unet:ge" "unet:se" "unet:cbam" "nafnet:")
degradations=("noise:sigma=30" "noise-map:sigma=5-60,pattern=gradient")
printf "%-10s %-5s %-40s %9s %9s %9s %8s %6s\n" variant seed degradation global tlc tile "tlc-gl" ctrl
for seed in "${seeds[@]}"; do
  for v in "${variants[@]}"; do
    arch=${v%%:*}
    module=${v#*:}
    name=${arch}${module:+-$module}-s$seed
    args=(--set model.arch="$arch" --set train.iters="$iters" --set train.seed="$seed")
    if [ "$arch" = unet ]; then args+=(--set model.module="$module" --set model.width=16 --set model.depth=3); fi
    [ -f "$out/$name/model.safetensors" ] || "$tlc" train --out "$out/$name" "${args[@]}" 2> "$out/$name.log"
    for d in "${degradations[@]}"; do
      j="$out/$name/eval-$(echo "$d" | tr ':=,' '___').json"
      res=$("$tlc" eval -m "$out/$name/model.safetensors" --data "$out/val" --degrade "$d" --json "$j" 2> /dev/null)
      mean=$(echo "$res" | awk '$1 == "mean" {print $2, $5, $8}')
      gain=$(echo "$res" | awk '/^tlc vs global/ {print $4}')
      ctrl=$("$tlc" eval -m "$out/$name/model.safetensors" --data data/control96 --degrade "$d" --modes global,tlc \
        2> /dev/null | awk '/^tlc vs global/ {print $4}')
      printf "%-10s %-5s %-40s %9s %9s %9s %8s %6s\n" "${name%-s*}" "$seed" "$d" $mean "$gain" "$ctrl"
    done
  done
done
