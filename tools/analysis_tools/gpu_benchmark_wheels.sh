#!/usr/bin/env bash
# Download, here (with network), the wheels tools/analysis_tools/gpu_benchmark.py needs on a
# bare CUDA machine with Python 3.12 and its own torch but no OpenMMLab packages and no network.
#
#   bash tools/analysis_tools/gpu_benchmark_wheels.sh [OUT]   # default work_dirs/gpu_benchmark/wheels
#
# What the step and the data pipeline import: mmengine, mmpretrain, mmcv (mmcv-lite: pure Python,
# no mmcv._ext; the pre-training model and transforms need no mmcv op, and mask3d_mm imports
# mmseg / mmdet only where they are installed), torchvision (mmpretrain imports it; any build
# will do: mask3d_mm.compat lets its Python parts import when its C ops do not fit the torch),
# and their dependencies (numpy, opencv-python, pillow, matplotlib, pyyaml, rich, ...).
# gpu_benchmark.py unpacks only the wheels whose distribution the machine lacks.
#
# Environment variables (optional):
#   PYTHON_VERSION  target Python (default 3.12)
#   PLATFORM        target platform tag (default manylinux2014_x86_64; manylinux_2_17/2_28 too)
#   TORCHVISION     torchvision requirement, downloaded without its torch (default
#                   torchvision==0.28.0, made for torch 2.13; "none" skips it)
#   PURE=1          only the pure-Python wheels (~6 MB): for a machine that already has numpy,
#                   opencv, pillow, matplotlib, pyyaml (and torchvision)
# Measured on 2026-12-01: 34 wheels, 113 MB (opencv-python 71, numpy 16, matplotlib 10,
# pillow 7, fonttools 5 MB; pure-Python ones 6 MB) + torchvision.
set -euo pipefail
ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
OUT="${1:-$ROOT/work_dirs/gpu_benchmark/wheels}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
PYTHON_VERSION="${PYTHON_VERSION:-3.12}"
PLATFORM="${PLATFORM:-manylinux2014_x86_64}"
TORCHVISION="${TORCHVISION:-torchvision==0.28.0}"
REQS=(mmengine==0.10.7 mmpretrain==1.2.0 mmcv-lite==2.1.0 "numpy>=1.24,<2.5" "opencv-python>=4.8")
mkdir -p "$OUT"
PIP=("$PY" -m pip download --disable-pip-version-check --only-binary=:all: -d "$OUT"
     --python-version "$PYTHON_VERSION" --implementation cp --platform "$PLATFORM"
     --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64)
if [ "${PURE:-0}" = 1 ]; then
  "${PIP[@]}" --no-deps "${REQS[@]:0:3}"
  # the pure-Python dependencies of mmengine / mmpretrain / mmcv-lite (the binary ones are assumed
  # to be on the machine)
  "${PIP[@]}" --no-deps addict einops importlib-metadata zipp mat4py modelindex model-index \
    click markdown ordered-set rich pygments markdown-it-py mdurl termcolor yapf platformdirs \
    packaging lazy-importer
else
  "${PIP[@]}" "${REQS[@]}"
fi
[ "$TORCHVISION" = none ] || "${PIP[@]}" --no-deps "$TORCHVISION"
echo "wheels in $OUT: $(ls "$OUT"/*.whl | wc -l) files, $(du -sh "$OUT" | cut -f1)"
echo "copy the repository with $OUT to the GPU machine and run: bash tools/analysis_tools/gpu_benchmark.sh"
