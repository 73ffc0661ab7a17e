#!/usr/bin/env bash
# Download the wheels a GPU machine of this workplace lacks into .whl/.
#
#   tools/gpu/fetch_wheels.sh [DEST]        (default DEST: .whl)
#
# That machine has Python 3.12 with its own torch, torchvision, numpy,
# opencv-python-headless, matplotlib, pillow, pyyaml, rich, scikit-learn,
# click, markdown, zipp, einops, packaging, setuptools (the device
# machine's package list) but no mmengine, mmpretrain or mmcv, and it
# cannot reach a registry. This fetches, for CPython 3.12 on manylinux x86_64,
# mmengine / mmpretrain / mmcv-lite at the versions of requirements/runtime.txt
# and every pure-Python package they need that the machine lacks, one version
# each (two versions of one package stop `pip install --no-deps` there).
# setuptools<82 comes too: mmengine 0.10 imports pkg_resources, which
# setuptools 82 dropped; tools/gpu/run_cifar100lt_200e.sh installs it only
# where the machine's own setuptools has no pkg_resources.
# No torch / torchvision: the machine's own are used, whatever their version.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=${1:-.whl}
PYTHON=${PYTHON:-python3}

pin() {  # the version requirements/runtime.txt pins for $1
    sed -n "s/^$1==\([^ #]*\).*/\1/p" requirements/runtime.txt
}

# From requirements/runtime.txt.
PACKAGES=(
    "mmengine==$(pin mmengine)"
    "mmpretrain==$(pin mmpretrain)"
    "mmcv-lite==$(pin mmcv-lite)"
)
# Their pure-Python needs (Requires-Dist, recursively) that the machine
# lacks, at the versions the pinned CPU environment resolves them to.
PACKAGES+=(
    addict==2.4.0          # mmengine, mmcv-lite
    termcolor==3.3.0       # mmengine
    yapf==0.43.0           # mmengine, mmcv-lite
    platformdirs==4.14.8   # yapf
    mat4py==0.6.0          # mmpretrain
    modelindex==0.0.2      # mmpretrain
    model-index==0.1.11    # modelindex
    ordered-set==4.1.0     # model-index
    importlib-metadata==10.2.0  # mmpretrain
    lazy-importer==0.1.0   # importlib-metadata
    setuptools==81.0.0     # pkg_resources for mmengine (setuptools<82)
)
for spec in "${PACKAGES[@]}"; do
    case "$spec" in *==) echo "fetch_wheels: no version of ${spec%==} in requirements/runtime.txt" >&2; exit 1;; esac
done

mkdir -p "$DEST"
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$DEST" "${PACKAGES[@]}"

# One version of each package.
dupes=$(ls "$DEST"/*.whl | xargs -n1 basename | cut -d- -f1 | tr 'A-Z-' 'a-z_' \
        | sort | uniq -d)
if [ -n "$dupes" ]; then
    echo "fetch_wheels: several versions of: $dupes in $DEST; empty it and run again" >&2
    exit 1
fi
ls -la "$DEST"
echo "fetch_wheels: $(ls "$DEST"/*.whl | wc -l) wheels, $(du -sb "$DEST" | cut -f1) bytes in $DEST"
