#!/usr/bin/env bash
# End-to-end checks of the `tlc` command: train a few iterations, inspect, restore (file and
# folder, RGBA and 16-bit), evaluate with JSON, sweep, import a PyTorch checkpoint, resume, and
# refuse bad input with a clear error and no output file.
set -euo pipefail
tlc=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$work/photos"
cp "$src/data/photos/astronaut_portrait.png" "$src/data/photos/autumn_leaves.png" "$src/data/photos/moss_texture.png" "$work/photos/"
"$tlc" train --out "$work/run" --set data.dir="$work/photos" --set data.holdout_every=3 --set train.iters=6 \
  --set train.checkpoint_every=3 --set model.width=8 --set data.patch=32 --set data.batch=2 2> "$work/train.log"
[ -f "$work/run/model.safetensors" ] || fail "train wrote no model"
[ -f "$work/run/log.csv" ] && [ "$(wc -l < "$work/run/log.csv")" -eq 7 ] || fail "log.csv should have 6 rows"
grep -q "val psnr global" "$work/train.log" || fail "no validation line"

# Resume a finished run for more iterations.
"$tlc" train --resume "$work/run" --set train.iters=9 2> "$work/resume.log"
grep -q "resumed .*iter_00000006" "$work/resume.log" || fail "resume did not start from the last checkpoint"
[ "$(wc -l < "$work/run/log.csv")" -eq 10 ] || fail "resume should append 3 rows"

"$tlc" info "$work/run/model.safetensors" | grep -q "window 48x48" || fail "info lists no 48x48 window"
"$tlc" info --json "$work/run/model.safetensors" | grep -q '"train_size":{"width":32,"height":32}' || fail "info --json"
"$tlc" info --json --size 32x32 "$work/run/model.safetensors" | grep -q '"macs_tlc"' || fail "info --json: no TLC MACs"

"$tlc" restore -m "$work/run/model.safetensors" -i "$work/photos/moss_texture.png" -o "$work/out.png" --mode tlc 2>/dev/null
[ -f "$work/out.png" ] || fail "restore wrote nothing"
"$tlc" restore -m "$work/run/model.safetensors" -i "$work/photos" -o "$work/outdir" --mode tile --tile 64 --overlap 16 2>/dev/null
[ "$(ls "$work/outdir" | wc -l)" -eq 3 ] || fail "folder restore"

"$tlc" eval -m "$work/run/model.safetensors" --data "$work/photos" --degrade auto --modes global,tlc --json "$work/e.json" > "$work/eval.txt" 2>/dev/null
grep -q '"modes":{"global":{"psnr"' "$work/e.json" || fail "eval json"
grep -q '"degraded":{"psnr"' "$work/e.json" || fail "eval json: the degraded input's scores"
grep -q "tlc vs global" "$work/eval.txt" || fail "eval table"

"$tlc" sweep -m "$work/run/model.safetensors" --data "$work/photos" --scales 1,2 --csv "$work/s.csv" --svg "$work/s.svg" > /dev/null 2>&1
grep -q "^global," "$work/s.csv" && grep -q "<svg" "$work/s.svg" || fail "sweep outputs"

# Import an official-layout PyTorch checkpoint (a committed fixture) and restore with it.
"$tlc" convert "$src/tests/data/models/nafnet.pth" "$work/nafnet.safetensors" --train-size 16 2>/dev/null
"$tlc" info "$work/nafnet.safetensors" | grep -q "architecture nafnet" || fail "convert: arch not detected"

# Bad input: clear error, non-zero status, no output file.
head -c 100 "$work/run/model.safetensors" > "$work/truncated.safetensors"
if "$tlc" restore -m "$work/truncated.safetensors" -i "$work/photos/moss_texture.png" -o "$work/never.png" 2> "$work/err.txt"; then
  fail "truncated model accepted"
fi
grep -q "error" "$work/err.txt" && [ ! -e "$work/never.png" ] || fail "truncated model: no clear error"
head -c 200 "$work/photos/moss_texture.png" > "$work/broken.png"
if "$tlc" restore -m "$work/run/model.safetensors" -i "$work/broken.png" -o "$work/never.png" 2> "$work/err.txt"; then
  fail "broken image accepted"
fi
grep -q "broken.png" "$work/err.txt" && [ ! -e "$work/never.png" ] || fail "broken image: error must name the file"
if "$tlc" train --set no.such=1 2> "$work/err.txt"; then fail "unknown setting accepted"; fi
grep -q "unknown setting 'no.such'" "$work/err.txt" || fail "unknown setting message"
"$tlc" restore --help | grep -q -- "--mode global|tlc|tile" || fail "restore --help"
echo "cli smoke: all checks passed"
