#!/usr/bin/env bash
# Gather in one folder the wheels a GPU machine without internet needs to
# install xerm_mm (docs/gpu.md, "A GPU machine without internet").
#
#   tools/gpu/fetch_wheels.sh [--no-torch] [--cam] [DEST]   (default DEST: wheels)
#
#   --no-torch  leave out torch and torchvision: the GPU machine's own are
#               used (a cluster's module or container)
#   --cam       add the optional Grad-CAM (requirements/cam.txt)
#
# Run it where there is internet, with a Python of the GPU machine's version
# on the same OS and architecture (PYTHON=python3.11 ...; a login node or a
# container of the cluster's image): pip resolves requirements/runtime.txt
# for that Python and builds a wheel of every package published only as
# source, so the GPU machine needs no compiler and no index. Then it checks
# offline that the folder alone satisfies the requirements. On the GPU
# machine:
#
#   python -m venv .venv
#   .venv/bin/pip install --no-index --find-links DEST -r requirements/runtime.txt
#   .venv/bin/pip install --no-index --find-links DEST --no-deps --no-build-isolation -e .
#
# pip's own settings apply: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cu126
# fetches the torch built for another CUDA version.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
DEST=wheels
TORCH=1
CAM=0
while [ $# -gt 0 ]; do
    case "$1" in
        --no-torch) TORCH=0; shift;;
        --cam) CAM=1; shift;;
        -h|--help) sed -n '2,26p' "$0"; exit 0;;
        -*) echo "fetch_wheels: unknown option $1 (see tools/gpu/fetch_wheels.sh --help)" >&2; exit 2;;
        *) DEST=$1; shift;;
    esac
done

REQS=$(mktemp)
trap 'rm -f "$REQS"' EXIT
if [ "$TORCH" = 1 ]; then
    cp requirements/runtime.txt "$REQS"
else
    grep -v -E '^(torch|torchvision)([=<>!~ ]|$)' requirements/runtime.txt > "$REQS"
fi
# The check below: grad-cam needs torch, which --no-torch leaves to the machine.
CHECK=$(mktemp)
trap 'rm -f "$REQS" "$CHECK"' EXIT
cp "$REQS" "$CHECK"
if [ "$CAM" = 1 ] && [ "$TORCH" = 1 ]; then
    cat requirements/cam.txt >> "$REQS"
    cat requirements/cam.txt >> "$CHECK"
fi

mkdir -p "$DEST"
echo "fetch_wheels: the wheels of $(grep -c -v -E '^\s*(#|$)' "$REQS") requirements and their dependencies, for $("$PYTHON" -c 'import platform; print("Python", platform.python_version(), platform.system(), platform.machine())'), into $DEST"
"$PYTHON" -m pip wheel -q --wheel-dir "$DEST" -r "$REQS"
if [ "$CAM" = 1 ] && [ "$TORCH" = 0 ]; then
    # grad-cam needs torch: its wheel alone, then its other needs.
    "$PYTHON" -m pip wheel -q --no-deps --wheel-dir "$DEST" -r requirements/cam.txt
    needs=$("$PYTHON" - "$DEST" <<'PY'
import glob, re, sys, zipfile
wheel = sorted(glob.glob(sys.argv[1] + '/grad_cam-*.whl'))[-1]
with zipfile.ZipFile(wheel) as z:
    meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
    for line in z.read(meta).decode().splitlines():
        if line.startswith('Requires-Dist:'):
            spec = line.split(':', 1)[1].split(';')[0].strip()
            name = re.split(r'[<>=!~ \[]', spec)[0].lower()
            if name not in ('torch', 'torchvision'):
                print(spec)
PY
)
    [ -z "$needs" ] || "$PYTHON" -m pip wheel -q --wheel-dir "$DEST" $needs
fi
# Offline, as on the GPU machine: the folder alone must do.
if ! "$PYTHON" -m pip install -q --dry-run --ignore-installed --no-index \
        --find-links "$DEST" -r "$CHECK"; then
    echo "fetch_wheels: $DEST does not satisfy the requirements offline (see pip's message above)" >&2
    exit 1
fi
echo "fetch_wheels: $(ls "$DEST"/*.whl | wc -l) wheels, $(du -sh "$DEST" | cut -f1) in $DEST; install them with --no-index --find-links $DEST"
