#!/usr/bin/env bash
# Distributed testing with torchrun, one process per GPU.
#   bash tools/dist_test.sh CONFIG CHECKPOINT NGPUS [tools/test.py arguments]
# Same environment variables as tools/dist_train.sh (NNODES, NODE_RANK, MASTER_ADDR, PORT,
# PYTHON); gloo on CPU without CUDA. Interpreter: $PYTHON if set, else <repo>/.venv/bin/python
# (tools/install.sh) if it exists, else python from PATH.
set -e
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NGPUS [test.py arguments]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NGPUS=$3
shift 3
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
    "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
