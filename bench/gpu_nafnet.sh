#!/usr/bin/env bash
# NAFNet on the GPU, tlc vs PyTorch (when a CUDA-enabled torch is installed): the cases of
# bench_nafnet / torch_baseline.py with the device set to CUDA, 3 timed calls each after a warm-up.
# Run by scripts/gpu-check.sh with its build folder:  bash bench/gpu_nafnet.sh BUILD_DIR
set -uo pipefail
build=${1:-build-gpu}
here=$(cd "$(dirname "$0")" && pwd)
exe=$(find "$build" -type f -perm -u+x -name bench_nafnet | head -n 1)
[[ -n $exe ]] || { echo "gpu_nafnet: bench_nafnet is not built in $build" >&2; exit 1; }
cases=(fwd256_global fwd256_tlc fwd720_global fwd720_tlc train)
status=0
for c in "${cases[@]}"; do
  "$exe" "$c" 3 4 cuda || status=1
done
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2> /dev/null; then
  for c in "${cases[@]}"; do
    python3 "$here/torch_baseline.py" "$c" 3 4 torch-cuda || status=1
  done
else
  echo "gpu_nafnet: no CUDA-enabled PyTorch here; tlc numbers only"
fi
exit $status
