#!/usr/bin/env bash
# One-shot GPU benchmark on a bare CUDA machine (Python 3.10-3.12 with a CUDA torch; no network):
# unpacks the wheels of work_dirs/gpu_benchmark/wheels (gpu_benchmark_wheels.sh) that the machine
# lacks and runs .dev_scripts/gpu_benchmark/gpu_benchmark.py (its docstring says what is measured).
#
#   bash .dev_scripts/gpu_benchmark/gpu_benchmark.sh [gpu_benchmark.py options]
#
# PYTHON: the interpreter with the machine's torch (default python3). Results:
# work_dirs/gpu_benchmark/result.json and the log beside it.
set -euo pipefail
ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)' \
  || { echo "gpu_benchmark: needs Python 3.10-3.12 (set PYTHON=...)" >&2; exit 1; }
"$PY" -c 'import torch' 2>/dev/null \
  || { echo "gpu_benchmark: $PY has no torch: install the machine's CUDA torch first" >&2; exit 1; }
mkdir -p "$ROOT/work_dirs/gpu_benchmark"
cd "$ROOT"
"$PY" .dev_scripts/gpu_benchmark/gpu_benchmark.py "$@" 2>&1 | tee work_dirs/gpu_benchmark/log.txt
