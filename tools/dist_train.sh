#!/usr/bin/env bash
# Distributed training with torchrun, one process per GPU.
#   bash tools/dist_train.sh CONFIG NGPUS [tools/train.py arguments]
# Several machines: on each, NNODES=2 NODE_RANK=0|1 MASTER_ADDR=<node 0> PORT=29500 bash ...
# Without CUDA the processes use the gloo backend on CPU (docs/robustness.md).
# Interpreter: $PYTHON if set, else <repo>/.venv/bin/python (tools/install.sh) if it exists,
# else python from PATH.
set -e
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NGPUS [train.py arguments]" >&2
    exit 2
fi
CONFIG=$1
NGPUS=$2
shift 2
TOOLS=$(cd "$(dirname "$0")" && pwd)
# the interpreter: $PYTHON if set, else the project's environment (<repo>/.venv, made by
# tools/install.sh), else `python` from PATH
if [ -z "${PYTHON:-}" ] && [ -x "$TOOLS/../.venv/bin/python" ]; then
    PYTHON="$TOOLS/../.venv/bin/python"
fi

PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NGPUS" \
    "$TOOLS/train.py" "$CONFIG" --launcher pytorch "$@"
