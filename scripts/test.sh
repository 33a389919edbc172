#!/usr/bin/env bash
# Sets up, builds and runs every test: the lit suites, the C++ unit tests and
# the Python execution tests; then builds with ASan and UBSan and runs lit,
# the unit tests and the Python tests of every kernel and call path again
# (scripts/test-sanitized.sh --ci); then builds the libFuzzer targets
# (scripts/fuzz.sh --replay) and runs each seed once. Ends with one line
# counting passed and failed over all.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
scripts/build.sh || exit 1

BUILD_DIR=${TESSERA_BUILD_DIR:-build}
RESULTS="$BUILD_DIR/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
JOBS=$(nproc)

echo "== lit (dialect, passes, pipelines, tools)"
/usr/lib/llvm-22/bin/lit -sv -j "$JOBS" "$BUILD_DIR/test" \
  --xunit-xml-output "$RESULTS/lit.xml"

echo "== C++ unit tests (lib/Support, lib/Runtime)"
"$BUILD_DIR/bin/TesseraUnitTests" --gtest_brief=1 \
  --gtest_output="xml:$RESULTS/unit.xml"

echo "== Python execution tests"
TESSERA_BUILD_DIR="$BUILD_DIR" /usr/bin/python3 -m pytest -q -rs -n "$JOBS" \
  test/python --junitxml="$RESULTS/python.xml"

echo "== again under AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/):"
echo "   lit, the unit tests and the Python tests of every kernel and call path"
SANITIZED=build-asan/test-results
rm -rf "$SANITIZED"  # a failed build must not leave the last run's results
scripts/test-sanitized.sh --ci; SANITIZED_STATUS=$?

echo "== the libFuzzer targets (clang, ASan + UBSan, build-fuzz/): every seed once"
FUZZED=build-fuzz/test-results/fuzz.xml
rm -f "$FUZZED"
scripts/fuzz.sh --replay; FUZZ_STATUS=$?

echo "== summary"
PLAIN=$(/usr/bin/python3 scripts/summarize-tests.py "$RESULTS"/*.xml); PLAIN_STATUS=$?
ASAN=$(/usr/bin/python3 scripts/summarize-tests.py "$SANITIZED"/*.xml); ASAN_STATUS=$?
echo "plain build: $PLAIN" | tr '\n' ' ' && echo
echo "sanitized:   $ASAN" | tr '\n' ' ' && echo
echo "fuzz replay: $(/usr/bin/python3 scripts/summarize-tests.py --partial "$FUZZED")"
/usr/bin/python3 scripts/summarize-tests.py "$RESULTS"/*.xml "$SANITIZED"/*.xml "$FUZZED" | tail -1
[ "$SANITIZED_STATUS" -eq 0 ] || echo "FAILED: scripts/test-sanitized.sh exited $SANITIZED_STATUS"
[ "$FUZZ_STATUS" -eq 0 ] || echo "FAILED: scripts/fuzz.sh --replay exited $FUZZ_STATUS"
[ "$PLAIN_STATUS" -eq 0 ] && [ "$ASAN_STATUS" -eq 0 ] && [ "$SANITIZED_STATUS" -eq 0 ] && \
  [ "$FUZZ_STATUS" -eq 0 ] && \
  /usr/bin/python3 scripts/summarize-tests.py --partial "$FUZZED" > /dev/null
