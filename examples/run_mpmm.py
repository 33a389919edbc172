#!/usr/bin/python3
"""The main job: compile examples/mpmm.mlir, run it, check it, time it.

Makes a random 3-bit weight matrix (64 x 128, group 32, integer zero points,
f16 scales), packs it in Tessera's canonical storage with the independent
numpy reference, runs the compiled layer with tessera-run on a batch of
activations, and compares the result with the numpy reference.
"""

import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("TESSERA_BUILD_DIR", ROOT / "build"))
sys.path.insert(0, str(BUILD / "python"))
from tessera import reference  # noqa: E402
M, N, K, GROUP, BITS = 17, 64, 128, 32, 3


def main():
    rng = np.random.default_rng()
    codes = rng.integers(0, 1 << BITS, size=(N, K))
    zeros = rng.integers(0, 1 << BITS, size=(N, K // GROUP))
    scales = rng.uniform(0.01, 0.1, size=(N, K // GROUP)).astype(np.float16)
    x = rng.standard_normal((M, K)).astype(np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        np.save(tmp / "x.npy", x)
        np.save(tmp / "w.npy", reference.pack(codes, BITS))  # 3072 bytes
        np.save(tmp / "s.npy", scales)
        np.save(tmp / "z.npy", reference.pack(zeros, BITS))
        cmd = [str(BUILD / "bin" / "tessera-run"), str(ROOT / "examples" / "mpmm.mlir"),
               "-e", "linear", "-o", str(tmp / "y.npy"), "--repeat=200"]
        for name in ("x", "w", "s", "z"):
            cmd += ["-i", str(tmp / f"{name}.npy")]
        print("$", " ".join(cmd[:4]), "...")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(proc.stderr + proc.stdout)
        y = np.load(tmp / "y.npy")

    want = np.maximum(reference.mpmm(x, codes, scales, GROUP, zeros, "int"), 0)
    bound = reference.mpmm_error_bound(x, codes, scales, GROUP, zeros, "int")
    err = np.abs(y - want)
    ok = bool((err <= bound).all())
    print(f"relu(x @ deq(W)^T): x {M}x{K} f32, W {N}x{K} u{BITS} "
          f"(group {GROUP}, f16 scales, integer zero points)")
    print(f"check against the numpy reference: max |error| {err.max():.3g}, "
          f"max relative to the f32 rounding bound {np.max(err / bound):.3f}: "
          f"{'PASS' if ok else 'FAIL'}")
    print("time:", proc.stdout.strip().splitlines()[-1])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
