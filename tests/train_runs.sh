#!/usr/bin/env bash
# Run folders of `tlc train`: settings are checked before anything is written; a folder that holds
# a run is refused unless --resume or --force; a checkpoint of another run is never resumed; every
# architecture resumes; the default data works from any directory. Usage: train_runs.sh TLC SRC
set -euo pipefail
tlc=$(realpath "$1")
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$work/photos" "$work/elsewhere"
for f in astronaut_portrait autumn_leaves moss_texture; do cp "$src/data/photos/$f.png" "$work/photos/"; done
small=(--set data.dir="$work/photos" --set data.holdout_every=3 --set data.patch=32 --set data.batch=2
       --set train.checkpoint_every=2)

expect_usage_error() {  # MESSAGE ARGS...: exit status 2, MESSAGE on stderr, no run folder
  local message=$1
  shift
  set +e
  "$tlc" train --out "$work/refused" "$@" 2> "$work/err.txt"
  local rc=$?
  set -e
  [ $rc -eq 2 ] || fail "expected exit 2 for $*, found $rc: $(cat "$work/err.txt")"
  grep -q -- "$message" "$work/err.txt" || fail "expected '$message' for $*, found: $(cat "$work/err.txt")"
  [ ! -e "$work/refused" ] || fail "a refused run wrote $work/refused"
}
expect_usage_error "train.iters must be at least 1" "${small[@]}" --set train.iters=0
expect_usage_error "unknown config key 'bogus'" "${small[@]}" --set model.bogus=1
expect_usage_error "unknown setting 'train.bogus'" "${small[@]}" --set train.bogus=1
expect_usage_error "train.loss: expected psnr" "${small[@]}" --set train.loss=l3
set +e
"$tlc" train --out "$work/refused" --set data.dir="$work/none" 2> "$work/err.txt"
set -e
grep -q "$work/none" "$work/err.txt" || fail "a missing data folder is not named: $(cat "$work/err.txt")"
[ ! -e "$work/refused" ] || fail "a missing data folder still created the run folder"

# A folder that holds a run: refused, kept intact; --force starts anew; --resume continues.
"$tlc" train --out "$work/run" "${small[@]}" --set model.width=8 --set train.iters=4 2> /dev/null
expect_reuse() {
  set +e
  "$tlc" train --out "$work/run" "${small[@]}" --set model.width=8 --set train.iters=2 2> "$work/err.txt"
  local rc=$?
  set -e
  [ $rc -eq 2 ] && grep -q "already holds a run" "$work/err.txt" || fail "reusing a run folder: $rc $(cat "$work/err.txt")"
}
expect_reuse
[ -f "$work/run/checkpoints/iter_00000004.safetensors" ] || fail "the refused run touched the old one"
"$tlc" train --out "$work/run" "${small[@]}" --set model.width=8 --set train.iters=2 --force 2> /dev/null
[ ! -e "$work/run/checkpoints/iter_00000004.safetensors" ] || fail "--force left the old run's checkpoints"
[ "$(wc -l < "$work/run/log.csv")" -eq 3 ] || fail "--force should start a fresh log"

# A checkpoint of another run (copied in by hand) is refused by --resume.
"$tlc" train --out "$work/other" "${small[@]}" --set model.width=8 --set train.iters=4 2> /dev/null
cp "$work/other/checkpoints/iter_00000004.safetensors" "$work/run/checkpoints/"
set +e
"$tlc" train --resume "$work/run" --set train.iters=6 2> "$work/err.txt"
rc=$?
set -e
[ $rc -ne 0 ] && grep -q "belongs to run" "$work/err.txt" || fail "resumed another run's checkpoint: $(cat "$work/err.txt")"

# Every architecture resumes its own run (from another directory, with a relative --out).
cd "$work/elsewhere"
declare -A arch_options=(
  [nafnet]="--set model.width=4 --set model.enc_blocks=1,1 --set model.dec_blocks=1,1"
  [baseline]="--set model.width=4 --set model.enc_blocks=1,1 --set model.dec_blocks=1,1"
  [unet]="--set model.width=4 --set model.module=se"
  [hinet]="--set model.width=4 --set model.depth=2"
  [restormer]="--set model.dim=4 --set model.blocks=1,1,1,1 --set model.refinement_blocks=1 --set model.heads=1,1,1,1"
)
for arch in nafnet baseline unet hinet restormer; do
  # shellcheck disable=SC2086
  "$tlc" train --out "runs/$arch" "${small[@]}" --set model.arch=$arch ${arch_options[$arch]} --set train.iters=2 \
    --set data.holdout_every=0 2> "$work/$arch.txt" || fail "$arch: $(cat "$work/$arch.txt")"
  "$tlc" train --resume "runs/$arch" --set train.iters=3 2> "$work/$arch.txt" || fail "$arch resume: $(cat "$work/$arch.txt")"
  grep -q "resumed .*iter_00000002" "$work/$arch.txt" || fail "$arch: did not resume at 2"
done

# The default data (the sample photos) from a directory that has none; the config records it absolutely.
"$tlc" train --out runs/default --set model.width=4 --set train.iters=1 --set data.patch=32 2> "$work/default.txt" ||
  fail "the default data from another directory: $(cat "$work/default.txt")"
grep -q "\"data.dir\":\"$src/data/photos\"" runs/default/config.json || fail "data.dir is not recorded absolutely"
echo "ok"
