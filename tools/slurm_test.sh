#!/usr/bin/env bash
# Testing (evaluating) a checkpoint on a Slurm cluster, one task per GPU.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py arguments]
# GPUS / GPUS_PER_NODE tasks over GPUS / GPUS_PER_NODE nodes. Interpreter: $PYTHON if set, else
# <repo>/.venv/bin/python (tools/install.sh) if it exists, else python from PATH.
set -e
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py arguments]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
TOOLS=$(cd "$(dirname "$0")" && pwd)
# the interpreter: $PYTHON if set, else the project's environment (<repo>/.venv, made by
# tools/install.sh), else `python` from PATH
if [ -z "${PYTHON:-}" ] && [ -x "$TOOLS/../.venv/bin/python" ]; then
    PYTHON="$TOOLS/../.venv/bin/python"
fi

# SRUN_ARGS is split on spaces on purpose (several srun options)
PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    "${PYTHON:-python}" -u "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" --launcher slurm "$@"
