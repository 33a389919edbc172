#!/usr/bin/env bash
# Builds Tessera with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ and runs every test there: lit, the C++ unit tests and pytest
# (the extension is instrumented, so python3 runs with the sanitizer
# runtimes preloaded). With --ci, the part that scripts/test.sh (and so CI)
# runs: lit (every pass), the unit tests (the runtime) and the Python tests
# that execute every kernel family and the runtime's call paths (JIT, AOT,
# threads), about half of the Python suite: of each large matrix of cases
# (the mpmm, LUT, float-weight and GPU kernel matrices) one case per code
# type or width, spread over the other parameters (the others are marked
# `exhaustive`, see test/python/matrices.py).
#
# LLVM/MLIR come uninstrumented from Debian: their inline allocator code,
# compiled into our instrumented files, poisons memory that the
# uninstrumented library then touches, so user poisoning is off
# (allow_user_poisoning=0); leak checking is off for the same mix.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON_TESTS=(test/python)
PYTEST_FILTER=()
if [ "${1:-}" = "--ci" ]; then
  PYTEST_FILTER=(-m "not exhaustive")
  PYTHON_TESTS=(test/python/test_aot.py test/python/test_threads.py
                test/python/test_mpmm_execution.py test/python/test_structured_execution.py
                test/python/test_lut_execution.py test/python/test_types_execution.py
                test/python/test_cuda.py)
fi
scripts/install-deps.sh || exit 1
BUILD_DIR=build-asan
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTESSERA_SANITIZE=ON -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DPython3_EXECUTABLE=/usr/bin/python3 || exit 1
fi
ninja -C "$BUILD_DIR" || exit 1

export ASAN_OPTIONS=detect_leaks=0:allow_user_poisoning=0:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
RESULTS="$BUILD_DIR/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
/usr/lib/llvm-22/bin/lit -sv -j "$(nproc)" "$BUILD_DIR/test" \
  --xunit-xml-output "$RESULTS/lit.xml"
"$BUILD_DIR/bin/TesseraUnitTests" --gtest_brief=1 --gtest_output="xml:$RESULTS/unit.xml"
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  TESSERA_BUILD_DIR="$BUILD_DIR" /usr/bin/python3 -m pytest -q -n "$(nproc)" \
  "${PYTEST_FILTER[@]}" "${PYTHON_TESTS[@]}" --junitxml="$RESULTS/python.xml"
/usr/bin/python3 scripts/summarize-tests.py "$RESULTS"/*.xml
