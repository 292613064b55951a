#!/bin/bash
# Builds the libFuzzer targets and their seed corpora (from tests/data/io) into $1 (default build-fuzz).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-fuzz}
mkdir -p "$out/corpus_safetensors" "$out/corpus_torch_checkpoint"
for t in safetensors torch_checkpoint; do
  clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/include" "$root/fuzz/fuzz_$t.cpp" -o "$out/fuzz_$t"
done
# Seeds: the fixtures; checkpoint seeds in both modes (whole file: byte 0, data.pkl only: byte 1).
cp "$root"/tests/data/io/*.safetensors "$out/corpus_safetensors/"
for f in "$root"/tests/data/io/*.pth; do
  b=$(basename "$f" .pth)
  { printf '\0'; cat "$f"; } > "$out/corpus_torch_checkpoint/file_$b"
  pkl=$(python3 -c "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print([n for n in z.namelist() if n.endswith('/data.pkl')][0])" "$f" 2>/dev/null) || continue
  { printf '\1'; python3 -c "import sys,zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))" "$f" "$pkl"; } > "$out/corpus_torch_checkpoint/pkl_$b"
done
echo "built $out/fuzz_safetensors $out/fuzz_torch_checkpoint"
