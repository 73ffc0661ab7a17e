#!/usr/bin/env bash
# One process per GPU of a slurm job, across nodes, each running a tool of
# this folder (what tools/slurm_train.sh and tools/slurm_test.sh use):
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       tools/slurm_run.sh TOOL PARTITION JOB_NAME [TOOL ARGS]
# srun starts GPUS tasks (at most GPUS_PER_NODE per node, default
# min(GPUS, 8)), each `python -u tools/TOOL TOOL_ARGS`; give the tool
# --launcher slurm. SRUN_ARGS is split into words (several srun options).
set -e
if [ "$#" -lt 3 ]; then
    echo "usage: $0 TOOL PARTITION JOB_NAME [TOOL ARGS]" >&2
    exit 2
fi
TOOL=$1
PARTITION=$2
JOB_NAME=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}

# shellcheck disable=SC2086
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$(dirname "$0")/$TOOL" "${@:4}"
