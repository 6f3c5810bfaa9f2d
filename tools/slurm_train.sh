#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [tools/train.py arguments]
# GPUS / GPUS_PER_NODE tasks over GPUS / GPUS_PER_NODE nodes. Interpreter: $PYTHON if set, else
# <repo>/.venv/bin/python (tools/install.sh) if it exists, else python from PATH.
#
# Pre-emption and time limits: on SIGTERM (slurm signals every process of the step, then
# SIGKILLs after GraceTime / KillWait) tools/train.py saves a checkpoint after the current
# iteration, names it in WORK_DIR/last_checkpoint and exits 143 (docs/tools.md). Ask for the
# signal early enough for an iteration and a save, and pass --resume so that a rerun continues:
#   SRUN_ARGS="--signal=TERM@120" bash tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR --resume
# As a batch job (sbatch) that slurm requeues after pre-emption, and the script after the time
# limit (a sketch: slurm is not available to the tests):
#   #SBATCH --signal=TERM@120       # to the job steps (no B:), 120 s before the time limit
#   #SBATCH --requeue               # pre-emption with PreemptMode=REQUEUE requeues the job
#   trap 'stopping=1' TERM          # pre-emption signals the batch shell too: keep it waiting
#   srun python tools/train.py CONFIG --work-dir WORK_DIR --launcher slurm --resume & pid=$!
#   wait $pid; status=$?; [ -n "${stopping:-}" ] && { wait $pid; status=$?; }
#   [ $status -eq 143 ] && scontrol requeue "$SLURM_JOB_ID"
set -e
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py arguments]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
WORK_DIR=()
if [ $# -gt 0 ] && [[ $1 != -* ]]; then  # an optional WORK_DIR before the options
    WORK_DIR=(--work-dir "$1")
    shift
fi
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
    "${PYTHON:-python}" -u "$TOOLS/train.py" "$CONFIG" "${WORK_DIR[@]}" --launcher slurm "$@"
