#!/usr/bin/env bash
# The 200-epoch CIFAR100-LT IB 100 xERM pipeline on one GPU machine, in one
# command from the repository root (docs/gpu.md):
#
#   tools/gpu/run_cifar100lt_200e.sh [options] [-- run_pipeline options]
#
#   --config PIPELINE  pipeline config (default: the fast 200-epoch one,
#                      configs/pipelines/xerm_bbn-resnet32_1xb128-200e_cifar100lt-ib100-fast.py)
#   --data PATH        a pack of tools/gpu/cifar_pack.py (.npz), unpacked to
#                      /tmp/xerm_cifar100, or a folder holding
#                      cifar-100-python/ (default: $XERM_DATA, else
#                      .gpu_data/cifar100lt-ib100.npz)
#   --out DIR          what comes back: report.md/json, logs' tails, the
#                      benchmark, timings; no checkpoints (default: $OUT,
#                      else work_dirs/gpu_out)
#   --work-dir DIR     the pipeline's work dir, checkpoints included
#                      (default work_dirs/gpu_200e: inside the repository,
#                      ignored, so a rerun on the same warm machine keeps
#                      the finished stages)
#   --jobs N           passed to run_pipeline.py where it has --jobs
#                      (default: its own choice)
#   --device cuda|cpu  where the benchmark runs (default cuda; cpu: the dry
#                      run, tiny benchmark settings)
#   --time-limit S     stop the pipeline (SIGTERM: finished stages are kept)
#                      so that the whole script ends within S seconds, and
#                      collect what is there, e.g. a job's wall time
#                      (default: none)
#   --no-bench         skip tools/benchmarks/gpu_steps.py
#   -- ARGS            passed to run_pipeline.py (e.g. --cfg-options
#                      train_cfg.max_epochs=1)
#
# Python: $PYTHON (default python3), with xerm_mm's requirements installed
# (docs/gpu.md: with internet, or offline from a folder of wheels made by
# tools/gpu/fetch_wheels.sh); the repository goes on PYTHONPATH.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
START=$(date +%s)

CONFIG=configs/pipelines/xerm_bbn-resnet32_1xb128-200e_cifar100lt-ib100-fast.py
DATA=${XERM_DATA:-.gpu_data/cifar100lt-ib100.npz}
OUT_DIR=${OUT:-work_dirs/gpu_out}
WORK=work_dirs/gpu_200e
JOBS=
DEVICE=cuda
TIME_LIMIT=0
BENCH=1
PYTHON=${PYTHON:-python3}
while [ $# -gt 0 ]; do
    case "$1" in
        --config) CONFIG=$2; shift 2;;
        --data) DATA=$2; shift 2;;
        --out) OUT_DIR=$2; shift 2;;
        --work-dir) WORK=$2; shift 2;;
        --jobs) JOBS=$2; shift 2;;
        --device) DEVICE=$2; shift 2;;
        --time-limit) TIME_LIMIT=$2; shift 2;;
        --no-bench) BENCH=0; shift;;
        --) shift; break;;
        *) echo "run_cifar100lt_200e: unknown option $1 (see the head of $0)" >&2; exit 2;;
    esac
done
EXTRA=("$@")

mkdir -p "$OUT_DIR"
LOG=$OUT_DIR/log.txt
TIMES=$OUT_DIR/timing.txt
: > "$TIMES"
exec > >(tee -a "$LOG") 2>&1
export PYTHONUNBUFFERED=1
last=$START
mark() {  # the wall seconds of the step that just ended
    local now; now=$(date +%s)
    echo "$1 $((now - last)) s" | tee -a "$TIMES"
    last=$now
}
die() { echo "run_cifar100lt_200e: $*" >&2; mark "failed"; exit 1; }

# 1. Packages: the interpreter's own.
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
# configs/ and tools/ inside the package, as the editable install links them
# (xerm_mm:: config paths, the tools run_pipeline.py starts).
mkdir -p xerm_mm/.mim
for name in configs tools model-index.yml; do
    [ -e "xerm_mm/.mim/$name" ] || ln -s "../../$name" "xerm_mm/.mim/$name"
done
"$PYTHON" - <<'EOF' | tee "$OUT_DIR/env.txt" || die "the packages do not import"
import platform, sys
import torch, torchvision, numpy, mmengine, mmpretrain, mmcv, xerm_mm
import mmpretrain.models  # noqa: F401  (its optional imports too)
print('python', platform.python_version(), sys.executable)
print('torch', torch.__version__, 'torchvision', torchvision.__version__,
      'numpy', numpy.__version__)
print('mmengine', mmengine.__version__, mmengine.__file__)
print('mmpretrain', mmpretrain.__version__, 'mmcv', mmcv.__version__)
print('xerm_mm', xerm_mm.__version__, xerm_mm.__file__)
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print('cuda', torch.version.cuda, 'device', p.name,
          f'{p.total_memory / 2**30:.0f} GiB', p.multi_processor_count, 'SMs')
else:
    print('cuda: not available')
EOF
mark "install"

# 2. Data.
if [ -f "$DATA" ]; then
    "$PYTHON" tools/gpu/cifar_pack.py unpack "$DATA" /tmp/xerm_cifar100 \
        || die "could not unpack $DATA"
    DATA_ROOT=/tmp/xerm_cifar100
elif [ -d "$DATA/cifar-100-python" ]; then
    DATA_ROOT=$DATA
else
    die "--data $DATA is neither a pack (tools/gpu/cifar_pack.py pack) nor a folder holding cifar-100-python/"
fi
[ -f "$CONFIG" ] || die "no pipeline config $CONFIG (configs/pipelines/ holds: $(ls configs/pipelines | tr '\n' ' '))"
mark "data"

# 3. Benchmark, at most 90 s (never fatal: the pipeline is what matters).
if [ "$BENCH" = 1 ]; then
    bench=(--data-root "$DATA_ROOT" --device "$DEVICE" --pipeline "$CONFIG"
           --json-out "$OUT_DIR/bench.json")
    if [ "$DEVICE" = cpu ]; then
        bench+=(--batch 16 --steps 2 --rounds 1)
    else
        bench+=(--steps 30 --rounds 3)
    fi
    timeout 90 "$PYTHON" tools/benchmarks/gpu_steps.py "${bench[@]}" \
        > "$OUT_DIR/bench.txt" 2>&1 \
        || echo "benchmark failed or timed out (rc $?): see bench.txt"
    grep -v -e Warning -e _bootstrap -e 'pkg_resources' -e ' - mmengine - ' \
        "$OUT_DIR/bench.txt" | tail -30
    mark "benchmark"
fi

# 4. The pipeline, stopped in time to collect its results.
args=("$CONFIG" --work-dir "$WORK" --data-root "$DATA_ROOT")
if [ -n "$JOBS" ]; then
    if "$PYTHON" tools/run_pipeline.py --help | grep -q -- '--jobs'; then
        args+=(--jobs "$JOBS")
    else
        echo "run_pipeline.py has no --jobs here: running the steps one by one"
    fi
fi
if [ "$TIME_LIMIT" -gt 0 ]; then
    left=$((TIME_LIMIT - ($(date +%s) - START) - 30))
    [ "$left" -gt 30 ] || die "no time left for the pipeline (--time-limit $TIME_LIMIT)"
    echo "pipeline: $PYTHON tools/run_pipeline.py ${args[*]} ${EXTRA[*]} (at most $left s)"
    timeout "$left" "$PYTHON" tools/run_pipeline.py "${args[@]}" "${EXTRA[@]}"
else
    echo "pipeline: $PYTHON tools/run_pipeline.py ${args[*]} ${EXTRA[*]}"
    "$PYTHON" tools/run_pipeline.py "${args[@]}" "${EXTRA[@]}"
fi
rc=$?
mark "pipeline(rc=$rc)"

# 5. The summary in $OUT_DIR, no checkpoints (log.txt, timing.txt, env.txt,
#    bench.txt, bench.json, report.md, report.json, logs_tail.txt).
for f in report.md report.json; do
    [ -f "$WORK/$f" ] && cp "$WORK/$f" "$OUT_DIR/"
done
{
    for f in $(find "$WORK" -name '*.log' | sort); do
        echo "===== $f"
        tail -n 15 "$f" | cut -c1-400
    done
    echo "===== checkpoints"
    find "$WORK" -name '*.pth' | sort | tail -n 20
} > "$OUT_DIR/logs_tail.txt" 2>&1
echo "total $(( $(date +%s) - START )) s" | tee -a "$TIMES"
exit $rc
