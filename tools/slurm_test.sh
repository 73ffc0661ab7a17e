#!/usr/bin/env bash
# Testing on a slurm cluster, one process per GPU, across nodes:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [ARGS]
# As tools/slurm_train.sh, with tools/test.py (--launcher slurm). ARGS go to
# tools/test.py (--work-dir DIR, --data-root DIR, --metrics-out FILE).
set -e
if [ "$#" -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py ARGS]" >&2
    exit 2
fi
exec "$(dirname "$0")/slurm_run.sh" test.py "$1" "$2" "$3" "$4" \
    --launcher slurm "${@:5}"
