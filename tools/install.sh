#!/usr/bin/env bash
# One-command set-up of mask3d_mm and its pinned OpenMMLab stack in a virtual environment
# inside the repository (./.venv, git-ignored). Idempotent: a second run checks and returns.
#
#   bash tools/install.sh            # CPU: torch 2.13.0 + mmcv 2.1.0 built with CPU ops
#
# Environment variables (all optional):
#   PYTHON           interpreter that creates the venv (default: python3; needs 3.10-3.12)
#   VENV             venv folder (default: <repo>/.venv)
#   TORCH_SPEC       torch requirement (default: requirements/torch.txt, torch==2.13.0)
#   TORCHVISION_SPEC torchvision requirement made for that torch (default: torchvision==0.28.0)
#   TORCH_INDEX_URL  extra index for TORCH_SPEC, e.g. https://download.pytorch.org/whl/cu121
#   MMCV_WITH_CUDA   1 builds mmcv's CUDA ops (needs nvcc matching torch's CUDA); default 0
#   MMCV_CUDA_ARCH   TORCH_CUDA_ARCH_LIST for that build, e.g. "8.0;9.0"
#   MAX_JOBS         parallel compile jobs for mmcv (default: number of cores)
#   WHEEL_CACHE      where built mmcv wheels are kept, one per torch build
#                    (default: ~/.cache/mask3d_mm/wheels)
set -euo pipefail

ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"  # physical: the guard path below
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"
MMCV_WITH_CUDA="${MMCV_WITH_CUDA:-0}"
WHEEL_CACHE="${WHEEL_CACHE:-$HOME/.cache/mask3d_mm/wheels}"
MMCV_VERSION="$(sed -n 's/^mmcv==\([0-9.]*\).*/\1/p' "$ROOT/requirements/mmcv.txt")"
TORCH_SPEC="${TORCH_SPEC:-$(grep '^torch==' "$ROOT/requirements/torch.txt")}"
TORCHVISION_SPEC="${TORCHVISION_SPEC:-$(grep '^torchvision==' "$ROOT/requirements/torch.txt")}"
START=$SECONDS

say() { printf '[install %4ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- 1. can this machine work? -------------------------------------------------------------
command -v "$PYTHON" >/dev/null || die "'$PYTHON' not found. Install Python 3.10-3.12 or set PYTHON=/path/to/python3."
"$PYTHON" - <<'EOF' || die "Python 3.10-3.12 is required (torch 2.13 / OpenMMLab 2.x); set PYTHON=/path/to/python3.11."
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)
EOF
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
  || die "'$PYTHON' cannot create virtual environments (Debian/Ubuntu: apt-get install python3-venv)."
CXX_BIN="${CXX:-$(command -v c++ || command -v g++ || true)}"
[ -n "$CXX_BIN" ] || die "no C++ compiler found: mmcv's ops are compiled from source (Debian/Ubuntu: apt-get install g++)."
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' \
  || die "Python headers (Python.h) are missing: mmcv's ops need them (Debian/Ubuntu: apt-get install python3-dev)."

# ---- 2. the venv and the stamp that makes a second run instant -------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# Start-up hook of the environment: PyPI's torchvision is a CUDA build whose ops cannot load
# beside the CPU torch, which breaks `import mmseg.models` / `mmdet.models` in any process that
# does not import mask3d_mm first (upstream tools on stock configs). The .pth runs the stdlib-only
# guard mask3d_mm/_torchvision_guard.py at interpreter start-up (docs/install.md).
GUARD="$ROOT/mask3d_mm/_torchvision_guard.py"
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n' "import os, importlib.util as u; p = '$GUARD'; s = os.path.isfile(p) and u.spec_from_file_location('mask3d_mm_torchvision_guard', p); m = s and u.module_from_spec(s); s and s.loader.exec_module(m); s and m.install()" \
  >"$SITE/mask3d_mm_torchvision_guard.pth"
STAMP="$VENV/.mask3d_mm_install"
SIG="$(cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" | sha1sum | cut -c1-16) torch=$TORCH_SPEC $TORCHVISION_SPEC cuda=$MMCV_WITH_CUDA"
CHECK='import mask3d_mm, mmseg, mmdet, mmpretrain; from mmcv.ops import RoIAlign, nms'
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SIG" ] && "$PY" -c "$CHECK" 2>/dev/null; then
  say "already installed and importable ($VENV); nothing to do"
  exit 0
fi

# ---- 3. build tools and torch -----------------------------------------------------------------
say "installing build tools (setuptools<81, wheel, ninja)"
"${PIP[@]}" install -q --upgrade "pip>=23.1"
"${PIP[@]}" install -q -r "$ROOT/requirements/build.txt"
say "installing $TORCH_SPEC and $TORCHVISION_SPEC"
TORCH_ARGS=()
[ -n "${TORCH_INDEX_URL:-}" ] && TORCH_ARGS+=(--extra-index-url "$TORCH_INDEX_URL")
"${PIP[@]}" install -q "$TORCH_SPEC" numpy "${TORCH_ARGS[@]}"
# --no-deps: torchvision must never replace the torch installed above.
"${PIP[@]}" install -q --no-deps "$TORCHVISION_SPEC" "${TORCH_ARGS[@]}"
TORCH_TAG="$("$PY" -c 'import torch; print(torch.__version__)')"
say "torch $TORCH_TAG"

# ---- 4. mmcv with compiled ops, built once per torch build ---------------------------------------
if "$PY" -c "import mmcv; assert mmcv.__version__ == '$MMCV_VERSION'; from mmcv.ops import RoIAlign, nms" 2>/dev/null; then
  say "mmcv $MMCV_VERSION with ops already works against torch $TORCH_TAG"
else
  WHEEL_DIR="$WHEEL_CACHE/mmcv-$MMCV_VERSION-torch$TORCH_TAG-cuda$MMCV_WITH_CUDA"
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    mkdir -p "$WHEEL_DIR"
    LOG="$WHEEL_DIR/build.log"
    say "building mmcv $MMCV_VERSION with ops from source for torch $TORCH_TAG (cuda=$MMCV_WITH_CUDA)"
    say "this takes several minutes (docs/install.md); the wheel is cached in $WHEEL_DIR; full log: $LOG"
    (
      export MMCV_WITH_OPS=1 FORCE_CUDA="$MMCV_WITH_CUDA" MAX_JOBS="${MAX_JOBS:-$(nproc)}"
      # CFLAGS replaces Python's defaults, so -O2 and -DNDEBUG are given explicitly; -g0 keeps the
      # wheel at ~1 MB instead of ~32 MB and halves the build time.
      export CFLAGS="${CFLAGS:--O2 -g0 -DNDEBUG}"
      [ -n "${MMCV_CUDA_ARCH:-}" ] && export TORCH_CUDA_ARCH_LIST="$MMCV_CUDA_ARCH"
      "${PIP[@]}" wheel -v --no-deps --no-build-isolation --no-cache-dir \
        -w "$WHEEL_DIR" "mmcv==$MMCV_VERSION" >"$LOG" 2>&1 &
      pid=$!
      last=""
      while kill -0 "$pid" 2>/dev/null; do
        sleep 20
        cur="$(grep -oE '^\s*\[[0-9]+/[0-9]+\]' "$LOG" | tr -d ' ' | tail -n1 || true)"
        [ -n "$cur" ] && [ "$cur" != "$last" ] && say "mmcv build: compiled $cur source files" && last="$cur"
      done
      wait "$pid" || { tail -n 40 "$LOG" >&2; rm -f "$WHEEL_DIR"/*.whl; exit 1; }
    ) || die "mmcv build failed; see $LOG"
  else
    say "using cached mmcv wheel from $WHEEL_DIR"
  fi
  "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
fi

# ---- 5. the OpenMMLab stack and mask3d_mm (editable) -------------------------------------------
say "installing mmengine, mmpretrain, mmsegmentation, mmdet and mask3d_mm (editable)"
# The constraint keeps every dependency on the torch and mmcv installed above.
CONSTRAINT="$VENV/.mask3d_mm_constraints.txt"
"$PY" -c 'from importlib.metadata import version as v; print("torch==" + v("torch")); print("mmcv==" + v("mmcv"))' >"$CONSTRAINT"
"${PIP[@]}" install -q -c "$CONSTRAINT" -e "$ROOT[all]"

say "checking the environment"
"$PY" - <<EOF
$CHECK
import mmcv, mmengine, torch
print(f'  torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}, '
      f'mmpretrain {mmpretrain.__version__}, mmseg {mmseg.__version__}, mmdet {mmdet.__version__}')
EOF
echo "$SIG" >"$STAMP"
say "done: activate with 'source $VENV/bin/activate'"
