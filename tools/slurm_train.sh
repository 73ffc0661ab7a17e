#!/usr/bin/env bash
# Training on a slurm cluster, one process per GPU, across nodes:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [ARGS]
# srun (tools/slurm_run.sh) starts GPUS tasks, at most GPUS_PER_NODE per
# node; each runs tools/train.py with --launcher slurm, which reads its rank,
# the world size and the job's first node (the master address) from slurm's
# variables (MMEngine's init_dist; MASTER_PORT, default 29500, may be set).
# Needs CUDA (NCCL). ARGS go to tools/train.py (--auto-scale-lr, --resume).
set -e
if [ "$#" -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py ARGS]" >&2
    exit 2
fi
exec "$(dirname "$0")/slurm_run.sh" train.py "$1" "$2" "$3" \
    --work-dir="$4" --launcher slurm "${@:5}"
