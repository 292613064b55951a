#!/usr/bin/env bash
# The `tlc` command line refuses bad arguments before loading anything: every usage error exits
# with status 2 and one line naming the option, what it expected and what it found, and leaves
# no output file; other failures exit with 1. Also: --version, folder restore with --skip-bad,
# eval and sweep agreeing on --degrade, the sweep CSV, info --json types, labelled side-by-sides.
set -uo pipefail
tlc=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
model="$src/data/models/unet_gn_denoise.safetensors"
img="$src/data/control96/raccoon_face_c96.png"
mkdir -p "$work/imgs" "$work/dir.json"
cp "$src"/data/control96/*.png "$work/imgs/"

# expect STATUS "MESSAGE PART" COMMAND...: the exit status, the message, and no never.* file.
expect() {
  local want=$1 text=$2
  shift 2
  "$@" > "$work/out.txt" 2> "$work/err.txt"
  local got=$?
  [ "$got" -eq "$want" ] || fail "'$*': expected exit status $want, found $got ($(cat "$work/err.txt"))"
  grep -qF -- "$text" "$work/err.txt" || fail "'$*': expected a message containing '$text', found '$(cat "$work/err.txt")'"
  [ -z "$(find "$work" -name 'never*' -print -quit)" ] || fail "'$*' left an output file"
}

# Output paths, checked before the model or the image is read (the model here does not even exist).
expect 2 "expected a name ending in .png, .jpg or .jpeg, found '.webp'" "$tlc" restore -m "$model" -i "$img" -o "$work/never.webp"
expect 2 "--model '$work/no.safetensors': no such file" "$tlc" restore -m "$work/no.safetensors" -i "$img" -o "$work/never.png"
expect 2 "found no extension" "$tlc" restore -m "$model" -i "$img" -o "$work/never"
expect 2 "the folder '$work/missing' does not exist" "$tlc" restore -m "$model" -i "$img" -o "$work/missing/never.png"
expect 2 "expected a file name, found a folder" "$tlc" eval -m "$model" --data "$work/imgs" --json "$work/dir.json"
touch "$work/file.png"
expect 2 "the input is a folder, so the output must be a folder; found a file" "$tlc" restore -m "$model" -i "$work/imgs" -o "$work/file.png"
expect 2 "--input '$work/nothing': no such file or folder" "$tlc" restore -m "$model" -i "$work/nothing" -o "$work/never.png"
expect 2 "expected a name ending in .csv" "$tlc" sweep -m "$model" --data "$work/imgs" --csv "$work/never.txt"
expect 2 "expected a name ending in .safetensors" "$tlc" convert "$src/tests/data/models/nafnet.pth" "$work/never.bin"
expect 2 "MODEL '$work/no.safetensors': no such file" "$tlc" info "$work/no.safetensors"

# Values: one exit status (2) for every usage error.
expect 2 "--tile applies only to tile mode (use --mode tile)" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --tile 64
expect 2 "--overlap applies only to tile mode" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --overlap 8
expect 2 "--tile expects at least 32 pixels, found 1" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --mode tile --tile 1 --overlap 0
expect 2 "--tile expects at least 32 pixels, found 0" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --mode tile --tile 0
expect 2 "--overlap 64 must be smaller than --tile 64" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --mode tile --tile 64 --overlap 64
expect 2 "--overlap 64 must be smaller than the tile (64 px" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --mode tile --overlap 64
expect 2 "--threads expects 1 to" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --threads 1000
expect 2 "--threads expects a whole number, found 'two'" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --threads two
expect 2 "--precision: expected fp32 or bf16, found 'fp16'" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --precision fp16
expect 2 "TLC_MATMUL: expected fp32 or bf16, found 'half'" env TLC_MATMUL=half "$tlc" eval -m "$model" --data "$work/imgs"
# bf16 products are for inference on the CPU: refused for training (or, without AVX512-BF16, anywhere).
expect 2 "bf16" env TLC_MATMUL=bf16 "$tlc" train --out "$work/never_run"
expect 2 "bf16" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --precision bf16 --device cuda
if grep -qw avx512_bf16 /proc/cpuinfo 2> /dev/null; then
  "$tlc" restore -m "$model" -i "$img" -o "$work/bf16.png" --precision bf16 2> "$work/err.txt" ||
    fail "restore --precision bf16 failed"
  grep -qF "tlc (bf16)" "$work/err.txt" || fail "restore --precision bf16 did not say so: $(cat "$work/err.txt")"
  expect 2 "TLC_ISA=avx2 excludes them" env TLC_ISA=avx2 "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" \
    --precision bf16
else
  expect 2 "needs a CPU with AVX512-BF16" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --precision bf16
fi
expect 2 "--mode expects global, tlc or tile, found 'nonsense'" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --mode nonsense
expect 2 "--scale expects a positive number" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --scale 0
expect 2 "--max-memory expects a positive size" "$tlc" restore -m "$model" -i "$img" -o "$work/never.png" --max-memory lots
expect 2 "--size: expected positive sizes, found '0x5'" "$tlc" info --size 0x5 "$model"
expect 2 "eval has no --mode: it scores every mode listed in --modes" "$tlc" eval -m "$model" --data "$work/imgs" --mode global
expect 2 "--tile applies only to tile mode (add tile to --modes)" "$tlc" eval -m "$model" --data "$work/imgs" --modes global --tile 64
expect 2 "--modes names tlc twice" "$tlc" eval -m "$model" --data "$work/imgs" --modes tlc,tlc
expect 2 "--degrade:" "$tlc" eval -m "$model" --data "$work/imgs" --degrade nosuch:sigma=1
expect 2 "--degrade:" "$tlc" sweep -m "$model" --data "$work/imgs" --degrade nosuch:sigma=1
expect 2 "unknown option --nope" "$tlc" sweep -m "$model" --data "$work/imgs" --nope
expect 2 "unknown command 'nope'" "$tlc" nope

# Other failures: status 1, with the file named.
expect 1 "safetensors '$img': not a safetensors file" "$tlc" restore -m "$img" -i "$img" -o "$work/never.png"

"$tlc" --version | grep -qE '^tlc [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"

# Folder restore: one unreadable file stops it, unless --skip-bad, which reports the count.
cp "$src/tests/data/images/garbage.png" "$work/imgs/bad.png"
expect 1 "bad.png" "$tlc" restore -m "$model" -i "$work/imgs" -o "$work/never_dir"
rm -rf "$work/never_dir"
"$tlc" restore -m "$model" -i "$work/imgs" -o "$work/restored" --skip-bad 2> "$work/err.txt" || fail "--skip-bad: $(cat "$work/err.txt")"
grep -q "skipped 1 of 5 images" "$work/err.txt" || fail "--skip-bad: no count ($(cat "$work/err.txt"))"
[ "$(ls "$work/restored" | wc -l)" -eq 4 ] || fail "--skip-bad: expected 4 restored images"
grep -q "96x96" "$work/err.txt" || fail "restore: size not printed as WxH"
rm "$work/imgs/bad.png"

# eval and sweep: the same --degrade default (auto), so neither needs it for a shipped model.
"$tlc" eval -m "$model" --data "$work/imgs" --modes global,tlc --save "$work/cmp" > /dev/null 2> "$work/err.txt" ||
  fail "eval without --degrade: $(cat "$work/err.txt")"
[ "$(ls "$work/cmp" | wc -l)" -eq 4 ] || fail "eval --save: expected 4 side-by-side images"
"$tlc" sweep -m "$model" --data "$work/imgs" --scales 1,2 --csv "$work/s.csv" > /dev/null 2> "$work/err.txt" ||
  fail "sweep without --degrade: $(cat "$work/err.txt")"
head -1 "$work/s.csv" | grep -qx "mode,scale,psnr,ssim" || fail "sweep csv header"
grep -q "^global,," "$work/s.csv" && [ "$(grep -c '^tlc,[0-9.]*,' "$work/s.csv")" -eq 2 ] || fail "sweep csv rows"
"$tlc" eval -m "$model" --help | grep -q -- "--degrade SPEC|auto.*(default: auto)" || fail "eval --degrade help"
"$tlc" sweep -m "$model" --help | grep -q -- "--degrade SPEC|auto.*(default: auto)" || fail "sweep --degrade help"

# --max-memory: above the estimate, tiles with a message; below what even small tiles need, an error.
photo="$src/data/photos/moss_texture.png"
# The estimate includes what the process already holds (more with the CUDA libraries linked), so
# the limit is taken as 75 % of the figure this binary prints: an upper bound ("peak at most", one
# probe) where the image fits, below the two-probe estimate it then takes.
"$tlc" restore -m "$model" -i "$photo" -o "$work/whole.png" 2> "$work/err.txt"
estimate=$(sed -n 's/.*\(estimated peak\|peak at most\) \([0-9.]*\) GiB.*/\2/p' "$work/err.txt")
[ -n "$estimate" ] || fail "restore printed no estimate: $(cat "$work/err.txt")"
limit=$(awk -v e="$estimate" 'BEGIN {printf "%dM", e * 1024 * 0.75}')
"$tlc" restore -m "$model" -i "$photo" -o "$work/tiled.png" --max-memory "$limit" 2> "$work/err.txt" ||
  fail "--max-memory $limit: $(cat "$work/err.txt")"
grep -q "is above --max-memory [0-9.]* GiB; restoring in overlapping [0-9]*x[0-9]* tiles" "$work/err.txt" ||
  fail "--max-memory: no tiling message ($(cat "$work/err.txt"))"
[ -f "$work/tiled.png" ] || fail "--max-memory: no output"
expect 1 "does not fit under --max-memory" "$tlc" restore -m "$model" -i "$photo" -o "$work/never.png" --max-memory 100M

# Ctrl-C during a folder restore: status 130, and only complete outputs (no temporary files).
"$tlc" restore -m "$model" -i "$src/data/photos" -o "$work/interrupted" --threads 1 2> /dev/null &
pid=$!
sleep 3
kill -INT "$pid"
wait "$pid"
status=$?
[ "$status" -eq 130 ] || fail "Ctrl-C: expected status 130, found $status"
[ -z "$(ls -A "$work/interrupted" 2> /dev/null | grep -v '\.png$')" ] || fail "Ctrl-C left a temporary file"

# info --json: numbers are numbers, sizes are objects.
"$tlc" info --json --size 128x64 "$model" > "$work/info.json"
grep -q '"width":16}' "$work/info.json" || fail "info --json: config numbers as strings"
grep -q '"macs_size":{"width":128,"height":64}' "$work/info.json" || fail "info --json: macs_size"
grep -q '"train_size":{"width":64,"height":64}' "$work/info.json" || fail "info --json: train_size"
"$tlc" info "$model" | grep -q "counted: convolutions and matrix products" || fail "info: what the MACs count"
echo "cli usage: all checks passed"
