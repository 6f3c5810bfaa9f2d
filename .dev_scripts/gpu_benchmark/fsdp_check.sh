#!/usr/bin/env bash
# FSDP checks that need a GPU (bf16, NCCL, full state dicts with offload_to_cpu, ViT-L memory),
# on a bare CUDA machine with the wheels of gpu_benchmark_wheels.sh; fsdp_check.py says what.
#
#   bash .dev_scripts/gpu_benchmark/fsdp_check.sh [--nproc N] [--skip-vit-l] [--batch B]
#
# PYTHON: the interpreter with the machine's CUDA torch (default python3). Results:
# work_dirs/fsdp_check/result.json, the runs' logs beside it. About 5 minutes on one H100.
set -euo pipefail
ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
PY="${PYTHON:-python3}"
"$PY" -c 'import torch' 2>/dev/null \
  || { echo "fsdp_check: $PY has no torch: install the machine's CUDA torch first" >&2; exit 1; }
mkdir -p "$ROOT/work_dirs/fsdp_check"
cd "$ROOT"
PYTHON="$PY" "$PY" .dev_scripts/gpu_benchmark/fsdp_check.py "$@" 2>&1 \
  | tee work_dirs/fsdp_check/log.txt
