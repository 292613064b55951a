#!/usr/bin/env bash
# GPU verification for a machine with an NVIDIA GPU (docs/GPU.md): builds the CUDA backend in
# Release, runs the CPU-vs-CUDA table and the runtime tests (ctest -R cuda_), a short training run
# and evaluation on the device, and every GPU benchmark under bench/, printing the machine, the
# date and all output, and writes a one-page report (a row per step). Meant to finish in under
# 5 minutes; exits non-zero on any failure.
#
#   bash scripts/gpu-check.sh            # from the repository root
#
# Environment: TLC_GPU_BUILD_DIR (default build-gpu), CMAKE_CUDA_ARCHITECTURES (default 90, H100),
# JOBS (default 16), TLC_GPU_LOG (default $TLC_GPU_BUILD_DIR/gpu-check.log, a copy of the output),
# TLC_GPU_REPORT (default $TLC_GPU_BUILD_DIR/gpu-check-report.md: machine, commit, a row per step),
# TLC_GPU_CHECK_ALLOW_NO_GPU=1 (run without a GPU: only to test this script; CUDA tests then skip).
set -uo pipefail

if [[ ! -f CMakeLists.txt || ! -d cuda || ! -f scripts/gpu-check.sh ]]; then
  echo "gpu-check: expected to run from the tlc repository root, found $(pwd)" >&2
  exit 2
fi

build=${TLC_GPU_BUILD_DIR:-build-gpu}
arch=${CMAKE_CUDA_ARCHITECTURES:-90}
jobs=${JOBS:-16}
mkdir -p "$build"
log=${TLC_GPU_LOG:-$build/gpu-check.log}
exec > >(tee "$log") 2>&1

report=${TLC_GPU_REPORT:-$build/gpu-check-report.md}

start=$(date +%s)
failures=()
rows=()
step() {  # step NAME SECONDS COMMAND...: runs COMMAND under a time limit and records a failure
  local name=$1 limit=$2 t0
  shift 2
  t0=$(date +%s)
  echo
  echo "==== $name ($((t0 - start)) s elapsed)"
  echo "\$ $*"
  timeout --kill-after=10 "$limit" "$@"
  local rc=$?
  local result=passed
  if [[ $rc -ne 0 ]]; then
    result="FAILED (exit status $rc)"
    [[ $rc -eq 124 || $rc -eq 137 ]] && result="FAILED (past its ${limit} s limit)"
    echo "gpu-check: $result: $name"
    failures+=("$name")
  fi
  rows+=("| $name | $result | $(($(date +%s) - t0)) |")
  return $rc
}

# The report is written however the script ends (a failed build stops it early).
write_report() {
  local total=$(($(date +%s) - start))
  {
    echo "# tlc gpu-check, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)"
    echo "- commit: $commit"
    echo "- total: ${total} s (budget 300 s); full output: $log"
    [[ -f $build/ctest-cuda.txt ]] && echo "- CUDA tests: $(grep -E 'tests passed|tests failed' "$build/ctest-cuda.txt")"
    echo
    echo "| step | result | seconds |"
    echo "| --- | --- | --- |"
    [[ ${#rows[@]} -gt 0 ]] && printf '%s\n' "${rows[@]}"
  } > "$report"
}

echo "==== tlc gpu-check"
echo "date:   $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:   $(uname -n) ($(uname -sr)), $(nproc) CPUs"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit+=" (with local changes)"
echo "commit: $commit"
trap write_report EXIT
if ! nvidia-smi -L; then
  if [[ ${TLC_GPU_CHECK_ALLOW_NO_GPU:-0} != 1 ]]; then
    echo "gpu-check: expected an NVIDIA GPU (nvidia-smi -L), found none; the CUDA tests would only skip" >&2
    exit 1
  fi
  echo "gpu-check: no GPU, continuing because TLC_GPU_CHECK_ALLOW_NO_GPU=1"
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null
nvcc --version 2>/dev/null | tail -n 2
python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda,
      "cuDNN", torch.backends.cudnn.version())' 2>/dev/null || echo "torch: not available"

step configure 120 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTLC_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" -DTLC_BUILD_TESTS=ON -DTLC_BUILD_TOOLS=ON || exit 1

# Only what this check runs: the CUDA tests and the GPU benchmarks, not the whole CPU suite.
targets=(tlc_cuda tlc_cli bench_nafnet)
for src in tests/cuda_*.cpp; do
  [[ -e $src ]] && targets+=("$(basename "$src" .cpp)")
done
mapfile -t bench_targets < <(cmake --build "$build" --target help 2>/dev/null |
  grep -oE '\bbench_gpu_[A-Za-z0-9_]+' | sort -u)
targets+=("${bench_targets[@]}")
# NCCL (built when the toolkit has it): its communicator test.
if cmake --build "$build" --target help 2>/dev/null | grep -qw test_nccl; then targets+=(test_nccl); fi
step build 180 cmake --build "$build" -j"$jobs" --target "${targets[@]}" || exit 1

# The CPU-vs-CUDA table (tests/cuda_table.cpp) and the runtime tests. With a device, the only case
# CTest may report as skipped is the one that needs its absence ([no-gpu]).
cuda_tests='cd "$1" && ctest -R cuda_ --output-on-failure -j4 --timeout 100 | tee ctest-cuda.txt
rc=${PIPESTATUS[0]}
skipped=$(grep -c "(Skipped)$" ctest-cuda.txt)
if [[ $skipped -gt 1 ]]; then
  echo "gpu-check: expected at most 1 skipped CUDA test (the no-device case), found $skipped"
  exit 1
fi
exit "$rc"'
step "ctest -R cuda_ (CPU vs CUDA table, runtime)" 150 bash -c "$cuda_tests" cuda_tests "$build"

# End to end on the GPU: a short training run (every op forward and backward on CUDA), then
# evaluation in all three modes.
tlc=$(find "$build" -type f -perm -u+x -name tlc | head -n 1)
step "tlc train --device cuda" 90 "$tlc" train --device cuda --out "$build/gpu-train" --force --set model.arch=unet \
  --set model.module=gn --set train.iters=200 --set train.checkpoint_every=100
step "tlc eval --device cuda" 60 "$tlc" eval --device cuda -m "$build/gpu-train/model.safetensors" \
  --data data/control96 --degrade auto --modes global,tlc,tile

# Data-parallel: NCCL all-reduce and broadcast on one GPU (and on two when the machine has them),
# then a 2-rank training step with --device cuda (NCCL with a GPU per rank, else MPI through the host).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
nccl_test=$(find "$build" -type f -perm -u+x -name test_nccl | head -n 1)
if [[ -n $nccl_test ]]; then
  step "NCCL all-reduce, 1 GPU" 60 "$nccl_test"
  gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
  if [[ $gpus -ge 2 ]] && command -v mpiexec > /dev/null; then step "NCCL all-reduce, 2 GPUs" 60 mpiexec -n 2 "$nccl_test"; fi
else
  echo "gpu-check: no test_nccl (NCCL not found at configure time)"
  rows+=("| NCCL all-reduce | not built (no NCCL) | 0 |")
fi
if command -v mpiexec > /dev/null && grep -q "tlc: MPI ON" "$log"; then
  step "mpiexec -n 2 tlc train --device cuda" 120 mpiexec -n 2 "$tlc" train --device cuda --out "$build/gpu-train-2ranks" \
    --force --set model.arch=unet --set model.module=gn --set train.iters=50 --set train.checkpoint_every=25
else
  echo "gpu-check: no 2-rank training step: this machine has no mpiexec or this build no MPI"
  rows+=("| mpiexec -n 2 tlc train --device cuda | not run (no MPI) | 0 |")
fi

ran_bench=0
for script in bench/gpu_*.sh; do
  [[ -e $script ]] || continue
  ran_bench=1
  step "$script" 120 bash "$script" "$build"
done
for name in "${bench_targets[@]}"; do
  exe=$(find "$build" -type f -perm -u+x -name "$name" | head -n 1)
  [[ -n $exe ]] || { echo "gpu-check: FAILED: benchmark $name was not built"; failures+=("$name"); continue; }
  ran_bench=1
  step "$name" 120 "$exe"
done
[[ $ran_bench == 1 ]] || echo "gpu-check: no GPU benchmarks yet (bench/gpu_*.sh or bench_gpu_* targets)"

total=$(($(date +%s) - start))
echo
echo "==== done in ${total} s; log in $log, report in $report"
[[ $total -le 300 ]] || echo "gpu-check: warning: took ${total} s, over the 5 minute budget"
if [[ ${#failures[@]} -gt 0 ]]; then
  echo "gpu-check: FAILED steps: ${failures[*]}"
  exit 1
fi
echo "gpu-check: all steps passed"
