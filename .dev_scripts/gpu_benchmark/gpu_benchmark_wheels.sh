#!/usr/bin/env bash
# Download, here (with network), the wheels .dev_scripts/gpu_benchmark/gpu_benchmark.py needs on a
# bare CUDA machine with Python 3.12 and its own torch but no OpenMMLab packages and no network.
#
#   bash .dev_scripts/gpu_benchmark/gpu_benchmark_wheels.sh [OUT]
#   (OUT default: work_dirs/gpu_benchmark/wheels)
#
# What the step and the data pipeline import: mmengine, mmpretrain, mmcv (mmcv-lite: pure Python,
# no mmcv._ext; the pre-training model and transforms need no mmcv op, and mask3d_mm imports
# mmseg / mmdet only where they are installed), torchvision (mmpretrain imports it; any build
# will do: mask3d_mm.compat lets its Python parts import when its C ops do not fit the torch),
# and their dependencies (numpy, opencv, pillow, matplotlib, pyyaml, rich, ...). OpenCV comes as
# opencv-python-headless (57 MB instead of 71). gpu_benchmark.py unpacks only the wheels whose
# distribution the machine lacks.
#
# The wheels are split in two folders of < 64 MiB each, OUT/part1 (OpenCV) and OUT/part2 (the
# rest), for transfers limited in size: carry part1, run `gpu_benchmark.py --unpack-only`, then
# carry part2 and run the benchmark (the unpacked site folder stays between the two).
#
# Environment variables (optional):
#   PYTHON_VERSION  target Python (default 3.12)
#   TORCHVISION     torchvision requirement, downloaded without its torch (default
#                   torchvision==0.28.0, made for torch 2.13; "none" skips it)
#   PURE=1          only the pure-Python wheels (part2 only, ~13 MB with torchvision): for a
#                   machine that already has numpy, opencv, pillow, matplotlib and pyyaml
# Measured on 2026-12-01 (Python 3.12): part1 56.6 MB (54 MiB), part2 55.4 MB (53 MiB; 34 wheels,
# of which numpy 16, matplotlib 10, torchvision 7.7, pillow 7.1, fonttools 5.4 MB); PURE=1: 13 MB.
set -euo pipefail
ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
OUT="${1:-$ROOT/work_dirs/gpu_benchmark/wheels}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
PYTHON_VERSION="${PYTHON_VERSION:-3.12}"
TORCHVISION="${TORCHVISION:-torchvision==0.28.0}"
MM=(mmengine==0.10.7 mmpretrain==1.2.0 mmcv-lite==2.1.0)
PIP=("$PY" -m pip download --disable-pip-version-check --only-binary=:all:
     --python-version "$PYTHON_VERSION" --implementation cp --platform manylinux2014_x86_64
     --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64)
mkdir -p "$OUT/part1" "$OUT/part2"
if [ "${PURE:-0}" = 1 ]; then
  "${PIP[@]}" -d "$OUT/part2" --no-deps "${MM[@]}"
  # the pure-Python dependencies of mmengine / mmpretrain / mmcv-lite
  "${PIP[@]}" -d "$OUT/part2" --no-deps addict einops importlib-metadata zipp mat4py \
    modelindex model-index click markdown ordered-set rich pygments markdown-it-py mdurl \
    termcolor yapf platformdirs packaging lazy-importer
else
  "${PIP[@]}" -d "$OUT/part2" "${MM[@]}" "numpy>=1.24,<2.5"
  rm -f "$OUT"/part2/opencv_python-*.whl  # mmengine's opencv-python: replaced by the headless one
  "${PIP[@]}" -d "$OUT/part1" --no-deps "opencv-python-headless>=4.8"
fi
[ "$TORCHVISION" = none ] || "${PIP[@]}" -d "$OUT/part2" --no-deps "$TORCHVISION"
for d in "$OUT/part1" "$OUT/part2"; do
  echo "$d: $(find "$d" -name '*.whl' | wc -l) wheels, $(du -sh "$d" | cut -f1)"
done
echo "copy the repository with $OUT to the GPU machine and run:"
echo "  bash .dev_scripts/gpu_benchmark/gpu_benchmark.sh"
