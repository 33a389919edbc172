#!/usr/bin/env bash
# Sets up, builds, and runs the main job on the built-in example: compile
# examples/mpmm.mlir (a 3-bit quantized linear layer + ReLU), run it, check it
# against the numpy reference and print the time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
/usr/bin/python3 examples/run_mpmm.py
