#!/usr/bin/python3
"""Reduces a failing Tessera program to a small regression test.

A failure is either a crash or error of the compiler (the program does not
compile or run), or a mismatch between the CPU pipeline's kernels and the
reference lowering on the same random inputs (`tessera-run` and
`tessera-run --reference-lowering`, which share no kernel code). The
program is shrunk with tessera-reduce while it still fails the same way,
and written as a lit test that fails until the bug is fixed:

    PYTHONPATH=build/python /usr/bin/python3 test/fuzz/reduce.py --seed 1234 -o test/Regressions/seed1234.mlir
    PYTHONPATH=build/python /usr/bin/python3 test/fuzz/reduce.py program.mlir -o reduced.mlir

--seed takes a program of test/fuzz/random_programs.py (every weight a
function argument, so that the reduced test is self-contained). Exit codes:
0 reduced, 2 the failure does not reproduce outside Python (the program
passes both ways here).
"""

import argparse
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TESSERA_BUILD_DIR", ROOT / "build"))
RUN = BUILD / "bin" / "tessera-run"
REDUCE = BUILD / "bin" / "tessera-reduce"
SIZES = (1, 3)      # dynamic sizes the programs are run at
TOLERANCE = 2e-4    # relative to the largest result, as random_programs.py


def entry_of(text):
    match = re.search(r"func\.func\s+@([A-Za-z0-9_$.]+)", text)
    if not match:
        raise SystemExit("the program has no function")
    return match.group(1)


def run(path, entry, size, out, reference):
    cmd = [str(RUN), str(path), "-e", entry, "--random", "--seed", "7",
           "--dynamic-size", str(size), "-o", str(out)]
    if reference:
        cmd.append("--reference-lowering")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def signature_of(stderr):
    """The first error line without locations and numbers: what the reduced
    program must still print."""
    for line in stderr.splitlines():
        if "error" in line.lower() or "Assertion" in line or "Sanitizer" in line:
            line = re.sub(r"^(loc\([^)]*\)|[^ ]*:\d+:\d+): ", "", line)
            return re.sub(r"\d+", "N", line).strip()
    return "crash"


def failure(path, workdir):
    """(kind, detail) of how `path` fails, or None when it does not."""
    text = pathlib.Path(path).read_text()
    entry = entry_of(text)
    for size in SIZES:
        outs = []
        for reference in (False, True):
            out = pathlib.Path(workdir) / f"out-{size}-{int(reference)}.npy"
            try:
                proc = run(path, entry, size, out, reference)
            except subprocess.TimeoutExpired:
                return ("crash", "timeout")
            if proc.returncode != 0:
                return ("crash", signature_of(proc.stderr))
            outs.append(np.load(out))
        a, b = outs
        scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-3)
        if a.shape != b.shape or not np.all(np.isfinite(a)) or \
                float(np.max(np.abs(a - b), initial=0.0)) / scale > TOLERANCE:
            return ("mismatch", "")
    return None


def interesting(path, kind, detail):
    """tessera-reduce's test: exit 1 when `path` still fails as the original."""
    with tempfile.TemporaryDirectory() as workdir:
        try:
            found = failure(path, workdir)
        except Exception:
            return 0
    return 1 if found == (kind, detail) else 0


def program_of_seed(seed):
    sys.path.insert(0, str(ROOT / "test" / "fuzz"))
    import random_programs
    g = random_programs.build(np.random.default_rng(seed))[0]
    return g.mlir()


def regression_test(reduced, kind, detail, origin):
    entry = entry_of(reduced)
    if kind == "crash":
        runs = [f"// RUN: tessera-run %s -e {entry} --random --dynamic-size {s}" for s in SIZES]
        what = f"compiling or running it fails: {detail}"
    else:
        runs = []
        for s in SIZES:
            runs += [f"// RUN: tessera-run %s -e {entry} --random --seed 7 --dynamic-size {s} "
                     f"--reference-lowering -o %t.{s}.npy",
                     f"// RUN: tessera-run %s -e {entry} --random --seed 7 --dynamic-size {s} "
                     f"--expect %t.{s}.npy --rtol {TOLERANCE} --atol {TOLERANCE}"]
        what = "the kernels disagree with the reference lowering"
    return (f"// Reduced by test/fuzz/reduce.py from {origin}: {what}.\n"
            + "\n".join(runs) + "\n\n" + reduced)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", nargs="?", help="an MLIR file")
    p.add_argument("--seed", type=int, help="a program of random_programs.py")
    p.add_argument("-o", "--output", help="the regression test to write")
    p.add_argument("--interesting", nargs=3, metavar=("KIND", "DETAIL", "FILE"),
                   help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.interesting:
        kind, detail, path = args.interesting
        return interesting(path, kind, detail)
    if (args.program is None) == (args.seed is None) or not args.output:
        p.error("give a program or --seed, and -o")

    with tempfile.TemporaryDirectory() as workdir:
        source = pathlib.Path(workdir) / "program.mlir"
        if args.seed is not None:
            source.write_text(program_of_seed(args.seed))
            origin = f"random_programs.py seed {args.seed}"
        else:
            source.write_text(pathlib.Path(args.program).read_text())
            origin = args.program
        found = failure(source, workdir)
        if found is None:
            print("reduce: the program passes here (compiled, and the kernels agree "
                  "with the reference lowering); nothing to reduce")
            return 2
        kind, detail = found
        print(f"reduce: {kind}{': ' + detail if detail else ''}")
        test = pathlib.Path(workdir) / "interesting.sh"
        test.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in [
            sys.executable, str(pathlib.Path(__file__).resolve()), "--interesting",
            kind, detail]) + ' "$1"\n')
        test.chmod(0o755)
        reduced = pathlib.Path(workdir) / "reduced.mlir"
        proc = subprocess.run([str(REDUCE), str(source),
                               f"--reduction-tree=traversal-mode=0 test={test}",
                               "-o", str(reduced)], capture_output=True, text=True)
        if proc.returncode != 0 or not reduced.exists():
            print(f"reduce: tessera-reduce failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
            return 1
        before = source.read_text().count("\n")
        text = reduced.read_text()
        pathlib.Path(args.output).write_text(regression_test(text, kind, detail, origin))
        print(f"reduce: {before} lines -> {text.count(chr(10))}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
