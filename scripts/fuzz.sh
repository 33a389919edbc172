#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz (clang, ASan + UBSan, into
# build-fuzz/) and runs them:
#
#   scripts/fuzz.sh [ir|abi|all] [seconds]   fuzz each target that long
#                                            (default: all, 60 s each)
#   scripts/fuzz.sh --replay                 run every seed once (a test)
#
# ir:  tessera-ir-fuzzer, MLIR text -> parse, verify, print, parse back.
#      Seeds: every split (// -----) of the lit tests, dictionary
#      test/fuzz/tessera-ir.dict.
# abi: tessera-abi-fuzzer, calls of the C entry points of
#      test/fuzz/abi_fuzz.mlir with sizes, pointers and contents from the
#      input. Seeds: 64 random inputs (each decodes to some call).
# Both also replay test/fuzz/regressions/<target>/, inputs that once failed.
# The corpora grow in build-fuzz/corpus/<target>; a crash is saved as
# build-fuzz/crashes/<target>-crash-<sha1> (rerun: build-fuzz/bin/<fuzzer> FILE).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

# The ABI fuzzer's functions are compiled by the plain build's
# tessera-compile (what it generates is not instrumented either way), so
# this configuration builds the dialects and the runtime, not the compiler.
scripts/build.sh || exit 1
PLAIN_BUILD=$(realpath "${TESSERA_BUILD_DIR:-build}")
BUILD_DIR=build-fuzz
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DTESSERA_FUZZ=ON -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DTESSERA_COMPILE="$PLAIN_BUILD/bin/tessera-compile" \
    -DPython3_EXECUTABLE=/usr/bin/python3 || exit 1
fi
ninja -C "$BUILD_DIR" tessera-ir-fuzzer tessera-abi-fuzzer || exit 1

# As in the sanitized build: LLVM/MLIR are not instrumented.
export ASAN_OPTIONS=detect_leaks=0:allow_user_poisoning=0
export UBSAN_OPTIONS=print_stacktrace=1

seeds() { # $1: target -> its seed directory
  local dir="$BUILD_DIR/seeds/$1"
  rm -rf "$dir" && mkdir -p "$dir"
  case "$1" in
    ir) /usr/bin/python3 - "$dir" <<'PY'
import hashlib, pathlib, sys
out = pathlib.Path(sys.argv[1])
for path in sorted(pathlib.Path("test").rglob("*.mlir")):
    for part in path.read_text().split("// -----"):
        text = "\n".join(l for l in part.splitlines()
                         if not l.lstrip().startswith("// RUN"))
        (out / hashlib.sha1(text.encode()).hexdigest()).write_text(text)
PY
      ;;
    abi) /usr/bin/python3 - "$dir" <<'PY'
import pathlib, random, sys
# Random bytes: every input decodes to some call (the fuzzer's format is
# FuzzedDataProvider's), and 64 of them reach each function with valid and
# invalid arguments.
rng = random.Random(1)
for i in range(64):
    data = bytes(rng.randrange(256) for _ in range(rng.choice([16, 64, 512, 4096])))
    (pathlib.Path(sys.argv[1]) / f"random-{i:02d}").write_bytes(data)
PY
      ;;
  esac
  # Inputs that once failed, kept as regression tests.
  if [ -d "test/fuzz/regressions/$1" ]; then
    cp test/fuzz/regressions/"$1"/* "$dir"/
  fi
  echo "$dir"
}

run() { # $1: target, $2: seconds
  local fuzzer="$BUILD_DIR/bin/tessera-$1-fuzzer" seedDir corpus="$BUILD_DIR/corpus/$1"
  seedDir=$(seeds "$1")
  mkdir -p "$corpus" "$BUILD_DIR/crashes"
  local dict=()
  [ "$1" = ir ] && dict=(-dict=test/fuzz/tessera-ir.dict)
  echo "fuzz: $1 for $2 s ($(ls "$seedDir" | wc -l) seeds, $(ls "$corpus" | wc -l) in the corpus)"
  "$fuzzer" "${dict[@]}" -max_total_time="$2" -max_len=8192 -timeout=30 \
    -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$BUILD_DIR/crashes/$1-" "$corpus" "$seedDir"
}

replay() { # every seed once, no mutation; a JUnit case per target
  local fuzzer="$BUILD_DIR/bin/tessera-$1-fuzzer" seedDir log
  seedDir=$(seeds "$1")
  log="$BUILD_DIR/test-results/$1.log"
  "$fuzzer" -runs=0 -timeout=30 "$seedDir" > "$log" 2>&1
  local rc=$?
  echo "fuzz replay $1: $(ls "$seedDir" | wc -l) seeds, exit $rc"
  if [ "$rc" -eq 0 ]; then
    echo "  <testcase classname=\"fuzz\" name=\"replay-$1\"/>" >> "$XML"
  else
    tail -n 20 "$log"
    echo "  <testcase classname=\"fuzz\" name=\"replay-$1\"><failure message=\"exit $rc\"/></testcase>" >> "$XML"
  fi
  return "$rc"
}

if [ "${1:-}" = "--replay" ]; then
  mkdir -p "$BUILD_DIR/test-results"
  XML="$BUILD_DIR/test-results/fuzz.xml"
  echo "<testsuite name=\"fuzz-replay\">" > "$XML"
  status=0
  for t in ir abi; do replay "$t" || status=1; done
  echo "</testsuite>" >> "$XML"
  exit $status
fi
target=${1:-all}
seconds=${2:-60}
status=0
for t in ir abi; do
  if [ "$target" = all ] || [ "$target" = "$t" ]; then
    run "$t" "$seconds" || status=1
  fi
done
exit $status
