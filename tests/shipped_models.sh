#!/usr/bin/env bash
# The shipped models (data/models/*.safetensors) load, and on the held-out photos (every 5th of
# data/photos by name, never seen in training) under their recorded evaluation degradation
# (--degrade auto) restore clearly (global output >= 3 dB above the degraded input), better with
# TLC than globally, and identically on the 96x96 control
# crops (windows cover the map there). Guards the product promise against regressions anywhere in
# loading, inference or TLC. On a CPU with AVX512-BF16, bf16 products (--precision bf16) must score
# within 0.02 dB of fp32 in both modes (the accepted cost of docs/BENCHMARKS.md).
set -euo pipefail
tlc=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$src/scripts/heldout_photos.sh" "$src/data/photos" "$work/val"
count=0
for m in "$src"/data/models/*.safetensors; do
  count=$((count + 1))
  out=$("$tlc" eval -m "$m" --data "$work/val" --degrade auto --modes global,tlc 2> /dev/null)
  gain=$(echo "$out" | awk '/^tlc vs global/ {print $4}')
  read -r degraded global tlc_mean <<< "$(echo "$out" | awk '$1 == "mean" {print $2, $5, $8}')"
  echo "$(basename "$m"): degraded $degraded dB, global $global dB, TLC - global = $gain dB on the held-out photos"
  awk -v d="$degraded" -v g="$global" 'BEGIN { exit !(g - d >= 3) }' ||
    fail "$(basename "$m"): the output is not clearly better than the degraded input ($degraded -> $global dB)"
  awk -v g="$gain" 'BEGIN { exit !(g + 0 > 0) }' || fail "$(basename "$m"): TLC does not beat global ($gain dB)"
  if grep -qw avx512_bf16 /proc/cpuinfo 2> /dev/null; then
    read -r g16 t16 <<< "$("$tlc" eval -m "$m" --data "$work/val" --degrade auto --modes global,tlc --precision bf16 \
      2> /dev/null | awk '$1 == "mean" {print $5, $8}')"
    echo "$(basename "$m"): bf16 products: global $g16 dB (fp32 $global), TLC $t16 dB (fp32 $tlc_mean)"
    awk -v a="$g16" -v b="$global" -v c="$t16" -v d="$tlc_mean" \
      'BEGIN { exit !(a != "" && c != "" && (a - b) ^ 2 <= 0.02 ^ 2 && (c - d) ^ 2 <= 0.02 ^ 2) }' ||
      fail "$(basename "$m"): bf16 products cost more than 0.02 dB"
  fi
  ctrl=$("$tlc" eval -m "$m" --data "$src/data/control96" --degrade auto --modes global,tlc 2> /dev/null |
    awk '/^tlc vs global/ {print $4, $7}')
  [ "$ctrl" = "+0.000 +0.0000" ] || fail "$(basename "$m"): the 96x96 control should give no difference, found $ctrl"
done
[ "$count" -ge 2 ] || fail "expected at least two shipped models, found $count"
echo "shipped models: all pass"
