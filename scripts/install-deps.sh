#!/usr/bin/env bash
# Installs every system package Tessera needs (Debian 12). Idempotent: when all
# packages are present it returns in about a second without touching apt.
# With --bench, also the benchmarks' peers that the tests do not need
# (PyTorch, about 170 packages).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache git
  # LLVM / MLIR 22 (dylibs, tools, lit, FileCheck, lld)
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22 lld-22
  # tests
  libgtest-dev python3-pytest python3-pytest-xdist python3-hypothesis
  # libFuzzer and clang's sanitizer runtimes (scripts/fuzz.sh)
  libclang-rt-22-dev
  # Python bindings and the numpy peer (OpenBLAS so numpy is not on reference BLAS)
  python3 python3-dev python3-numpy pybind11-dev libopenblas0-pthread
  # the examples: a real data set (scikit-learn's bundled digits)
  python3-sklearn
  # ELF inspection for the dependency test
  binutils
  # scipy.sparse: BSR conversion (tests) and the block-sparse peer (bench)
  python3-scipy
)
if [ "${1:-}" = "--bench" ]; then
  # PyTorch's two-bmm Monarch, the peer of bench/structured_bench.py
  PACKAGES+=(python3-torch)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
