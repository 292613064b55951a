#!/usr/bin/env bash
# Data-parallel training step on this machine: 2 ranks x 1 thread (mpirun) against 1 rank x 2
# threads, same global batch, for the small NAFNet of `tlc train` and the demo's GN UNet, the two
# alternated round by round so that load from other jobs hits both alike. Benchmark-only.
#
# Usage: bench/run_dist_bench.sh [build_dir]      Environment: ROUNDS [3], STEPS [6], BATCH [8], SIZE [64]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
bin=$build/bench/bench_dist
[ -x "$bin" ] || { echo "missing $bin (cmake --build $build --target bench_dist)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
steps=${STEPS:-6} batch=${BATCH:-8} size=${SIZE:-64}
nafnet=(nafnet width=16 enc_blocks=1,1,1,1 middle_blocks=1 dec_blocks=1,1,1,1)
unet=(unet module=gn)
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x$(nproc)"
for ((r = 0; r < ${ROUNDS:-3}; ++r)); do
  for model in nafnet unet; do
    declare -n m=$model
    echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"
    mpiexec -n 2 "$bin" "${m[0]}" "$steps" 1 "$batch" "$size" 1024 "${m[@]:1}"
    "$bin" "${m[0]}" "$steps" 2 "$batch" "$size" 1024 "${m[@]:1}"
  done
done
