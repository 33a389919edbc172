#!/usr/bin/env bash
# The GPU execution checks and the GPU benchmark, split between this machine
# (the build, no GPU) and a machine with an NVIDIA GPU (no build needed):
#
#   scripts/gpu-check.sh build [ARCH]   here: compile every check and the
#                                       benchmark's libraries for ARCH (default
#                                       sm_90a) into build/gpu-check
#   scripts/gpu-check.sh run            there, with build/gpu-check copied
#                                       along: numpy and the NVIDIA driver;
#                                       PyTorch for the benchmark's peer
#   scripts/gpu-check.sh profile [NxK] [M]
#                                       there: Nsight Compute's full report
#                                       of the kernels of one benchmark call
#                                       (default 4096x4096, M = 1)
#
# `run` exits 0 only when every check passed; it copies results.json and
# bench.json to $OUT when that is set.
set -uo pipefail
cd "$(dirname "$0")/.."
DIR=build/gpu-check
case "${1:-}" in
  build)
    ARCH=${2:-sm_90a}
    rm -rf "$DIR"
    /usr/bin/python3 test/cuda/device_checks.py build --arch "$ARCH" --also-arch sm_80 \
      "$DIR/checks" || exit 1
    /usr/bin/python3 bench/cuda_bench.py --arch "$ARCH" --compile-only "$DIR/bench" || exit 1
    du -sh "$DIR"
    ;;
  run)
    PY=${PYTHON:-python3}
    export PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv 2>/dev/null
    $PY test/cuda/device_checks.py run "$DIR/checks"
    checks=$?
    $PY bench/cuda_bench.py --libraries "$DIR/bench"
    bench=$?
    if [ -n "${OUT:-}" ]; then
      cp "$DIR/checks/results.json" "$DIR/bench/bench.json" "$OUT/" 2>/dev/null
    fi
    exit $((checks || bench))
    ;;
  profile)
    NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
    [ -n "$NCU" ] || { echo "gpu-check: no ncu"; exit 1; }
    # The benchmark's first call checks the result; the second is profiled.
    "$NCU" --set full --launch-skip 2 --launch-count 2 -k regex:mpmm \
      ${PYTHON:-python3} bench/cuda_bench.py --libraries "$DIR/bench" --no-torch \
      --shape "${2:-4096x4096}" --batch "${3:-1}" --budget 0.01
    ;;
  *)
    sed -n '2,19p' "$0"
    exit 2
    ;;
esac
