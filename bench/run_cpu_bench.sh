#!/usr/bin/env bash
# NAFNet on the CPU: tlc (bench/bench_nafnet.cpp) vs PyTorch and ONNX Runtime (bench/torch_baseline.py),
# one process per case and backend (so each peak RSS is its own), interleaved round by round so that
# load from other jobs hits every backend alike. Benchmark-only; nothing in CI runs it.
#
# Usage: bench/run_cpu_bench.sh [build_dir] [out_file]
# Environment (defaults in brackets):
#   PY [build_dir/venv/bin/python]  a Python with torch, onnxruntime and onnx
#   THREADS [2]  threads for every backend (tlc set_num_threads, torch.set_num_threads, ORT intra-op)
#   ROUNDS [3] / REPS [5]          rounds and timed repetitions for the 256x256 and training cases
#   BIG_ROUNDS [1] / BIG_REPS [1]  the same for the 720x1280 cases (one forward takes 10-80 s here)
#   TLC_BEFORE  optional second bench_nafnet binary (e.g. built from an older tree), reported as tlc-before
#   UNFUSED  when set, also runs tlc with TLC_FUSED=0 (the NAFNet blocks unfused), reported as tlc-unfused
#   BF16  when set, also runs tlc with TLC_MATMUL=bf16 (bf16 products; needs AVX512-BF16), reported as tlc-bf16
#   TORCH_OMP_WAIT_POLICY [PASSIVE]  OpenMP wait policy for torch: with other jobs on the cores the
#     default (spinning) threads made torch 3-10x slower in some repetitions
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
out=${2:-$build/nafnet_cpu_bench.txt}
py=${PY:-$build/venv/bin/python}
threads=${THREADS:-2}
tlc_bin=$build/bench/bench_nafnet
raw=$out.raw
[ -x "$tlc_bin" ] || { echo "missing $tlc_bin (cmake --build $build --target bench_nafnet)" >&2; exit 1; }
: > "$raw"

run() {  # run LABEL CMD...: appends the tool's result line (or the failure) to the raw log
  local label=$1; shift
  local line
  if line=$("$@" 2>/dev/null | tail -n 1) && [ -n "$line" ]; then
    echo "$label ${line#* }" | tee -a "$raw"
  else
    echo "# $label failed: $*" | tee -a "$raw"
  fi
}

bench_case() {  # bench_case CASE REPS
  local c=$1 reps=$2
  echo "# load $(cut -d' ' -f1-3 /proc/loadavg) before $c" | tee -a "$raw"
  run tlc "$tlc_bin" "$c" "$reps" "$threads"
  if [ -n "${TLC_BEFORE:-}" ]; then run tlc-before "$TLC_BEFORE" "$c" "$reps" "$threads"; fi
  if [ -n "${UNFUSED:-}" ]; then run tlc-unfused env TLC_FUSED=0 "$tlc_bin" "$c" "$reps" "$threads"; fi
  if [ -n "${BF16:-}" ]; then run tlc-bf16 env TLC_MATMUL=bf16 "$tlc_bin" "$c" "$reps" "$threads"; fi
  run torch env OMP_WAIT_POLICY="${TORCH_OMP_WAIT_POLICY:-PASSIVE}" "$py" "$here/torch_baseline.py" "$c" "$reps" "$threads" torch
  case $c in *_global) run ort "$py" "$here/torch_baseline.py" "$c" "$reps" "$threads" ort ;; esac
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x$(nproc), threads $threads" | tee -a "$raw"
for ((r = 0; r < ${ROUNDS:-3}; ++r)); do
  for c in fwd256_global fwd256_tlc train; do bench_case "$c" "${REPS:-5}"; done
done
for ((r = 0; r < ${BIG_ROUNDS:-1}; ++r)); do
  for c in fwd720_global fwd720_tlc; do bench_case "$c" "${BIG_REPS:-1}"; done
done
echo "# load $(cut -d' ' -f1-3 /proc/loadavg) at the end" | tee -a "$raw"

# Table: per backend and case, the median over rounds of each process's median time and the largest
# peak RSS; "tlc / faster baseline" (and "tlc-bf16 / ...") = median over rounds of tlc / the faster of
# torch and ort in the same round (rounds are minutes apart and the load moves, so only same-round
# ratios are compared).
"$py" - "$raw" > "$out" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    label, case, *kv = line.split()
    d = dict(x.split("=") for x in kv)
    runs.setdefault((case, label), []).append((float(d["median_ms"]), float(d["peak_rss_mb"])))
cases = ["fwd256_global", "fwd256_tlc", "train", "fwd720_global", "fwd720_tlc"]
labels = [l for l in ["tlc", "tlc-bf16", "tlc-unfused", "tlc-before", "torch", "ort"] if any(k[1] == l for k in runs)]
mine = [l for l in ("tlc", "tlc-bf16") if l in labels]  # each compared with the faster baseline, round by round
print("| case | " + " | ".join(f"{l} ms (peak MB)" for l in labels) + " | " +
      " | ".join(f"{l} / faster baseline" for l in mine) + " |")
print("|---|" + "---|" * (len(labels) + len(mine)))


def ratio(c, label):
    rounds = []
    for i, (t, _) in enumerate(runs.get((c, label), [])):
        base = [runs[(c, l)][i][0] for l in ("torch", "ort") if len(runs.get((c, l), [])) > i]
        if base:
            rounds.append(t / min(base))
    if not rounds:
        return "-"
    return f"{statistics.median(rounds):.2f}" + (f" ({min(rounds):.2f}-{max(rounds):.2f})" if len(rounds) > 1 else "")


for c in cases:
    cells = []
    for l in labels:
        r = runs.get((c, l))
        cells.append(f"{statistics.median(t for t, _ in r):.0f} ({max(m for _, m in r):.0f})" if r else "-")
    print(f"| {c} | " + " | ".join(cells + [ratio(c, l) for l in mine]) + " |")
EOF
cat "$out"
