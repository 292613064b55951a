#!/usr/bin/env bash
# The paper's Table 7 on our photos: the UNet with each global module (IN, HIN, GN, GE, SE, CBAM),
# plus NAFNet (SCA), trained on 64x64 patches and evaluated on the held-out full-size photos
# globally, with TLC and tiled, under a uniform and a spatially varying degradation, plus the no-op
# control: 96x96 crops (= the TLC window), where TLC must equal global exactly ("ctrl" column).
#   examples/table7_study.sh [TLC_BINARY] [ITERS] [SEEDS...]
# Results: runs/table7/<variant>-s<seed>/{model.safetensors,eval-*.json}; a row per variant, seed and
# degradation on stdout, then (with several seeds) the mean and sample standard deviation over seeds.
# A variant already trained is only evaluated, so seeds can be trained apart (one per core, with
# TLC_NUM_THREADS=1) and summarised by a last run that names them all.
set -euo pipefail
tlc=${1:-build/cli/tlc}
iters=${2:-1500}
shift 2 2>/dev/null || true
seeds=("${@:-42}")
out=runs/table7
bash scripts/heldout_photos.sh data/photos "$out/val"
variants=("unet:in" "unet:hin" "unet:gn" "unet:ge" "unet:se" "unet:cbam" "nafnet:")
degradations=("noise:sigma=30" "noise-map:sigma=5-60,pattern=gradient")
row_format="%-10s %-5s %-40s %9s %9s %9s %8s %6s\n"
printf "$row_format" variant seed degradation global tlc tile "tlc-gl" ctrl
rows=""
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
      mean=$(echo "$res" | awk '$1 == "mean" {print $5, $8, $11}')
      gain=$(echo "$res" | awk '/^tlc vs global/ {print $4}')
      ctrl=$("$tlc" eval -m "$out/$name/model.safetensors" --data data/control96 --degrade "$d" --modes global,tlc \
        2> /dev/null | awk '/^tlc vs global/ {print $4}')
      row=$(printf "$row_format" "${name%-s*}" "$seed" "$d" $mean "$gain" "$ctrl")
      echo "$row"
      rows+="$row"$'\n'
    done
  done
done
[ ${#seeds[@]} -gt 1 ] || exit 0
echo
echo "mean ± sample standard deviation over ${#seeds[@]} seeds (${seeds[*]}), dB"
printf "%s" "$rows" | awk '
  { key = $1 " " $3; if (!(key in n)) order[++keys] = key; n[key]++
    for (c = 4; c <= 7; ++c) { sum[key, c] += $c; sq[key, c] += $c * $c } }
  END {
    printf "%-10s %-40s %15s %15s %15s %15s\n", "variant", "degradation", "global", "tlc", "tile", "tlc-gl"
    for (k = 1; k <= keys; ++k) {
      key = order[k]; split(key, part, " "); printf "%-10s %-40s", part[1], part[2]
      for (c = 4; c <= 7; ++c) {
        m = sum[key, c] / n[key]; var = (sq[key, c] - n[key] * m * m) / (n[key] - 1)
        printf " %7.3f ± %5.3f", m, sqrt(var > 0 ? var : 0)
      }
      printf "\n"
    }
  }'
