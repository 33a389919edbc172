"""A slice of the random program generator (test/fuzz/random_programs.py)
in every test run: fixed seeds, and a few that change every day (the same
in all pytest-xdist workers, which must collect the same tests)."""

import importlib.util
import pathlib
import time

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "random_programs",
    pathlib.Path(__file__).resolve().parents[1] / "fuzz" / "random_programs.py")
random_programs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(random_programs)

_today = int(time.strftime("%Y%m%d"))
SEEDS = list(range(24)) + [int(s) for s in np.random.default_rng(_today).integers(10**6, 10**9, 8)]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program(seed, tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    random_programs.check(seed, str(tmp_path))


REDUCE = pathlib.Path(__file__).resolve().parents[1] / "fuzz" / "reduce.py"

BROKEN = """
func.func @f(%x: tensor<?x8xf32>, %w: tensor<8x8xf32>) -> (tensor<?x8xf32>, tensor<2xcomplex<f32>>) {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x8xf32>, tensor<8x8xf32>) outs(%f : tensor<?x8xf32>) -> tensor<?x8xf32>
  %t = math.tanh %y : tensor<?x8xf32>
  %s = arith.addf %t, %y : tensor<?x8xf32>
  %c = arith.constant dense<[(1.0, 2.0), (3.0, 4.0)]> : tensor<2xcomplex<f32>>
  return %s, %c : tensor<?x8xf32>, tensor<2xcomplex<f32>>
}
"""


def test_reducer_shrinks_a_failing_program(tmp_path):
    """A program the compiler rejects (a complex tensor at the boundary) is
    reduced to the ops that still make it fail the same way, and written as
    a lit test that fails until the bug is fixed."""
    import subprocess
    import sys
    src = tmp_path / "broken.mlir"
    src.write_text(BROKEN)
    out = tmp_path / "regression.mlir"
    proc = subprocess.run([sys.executable, str(REDUCE), str(src), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reduce: crash: " in proc.stdout and "complex" in proc.stdout
    text = out.read_text()
    assert text.startswith("// Reduced by test/fuzz/reduce.py from ")
    assert "// RUN: tessera-run %s -e f --random --dynamic-size 1" in text
    body = text.split("\n\n", 1)[1]
    assert "complex" in body
    assert "linalg.matmul" not in body and "math.tanh" not in body


def test_reducer_says_when_nothing_fails(tmp_path):
    import subprocess
    import sys
    src = pathlib.Path(__file__).resolve().parents[2] / "examples" / "mpmm.mlir"
    proc = subprocess.run([sys.executable, str(REDUCE), str(src), "-o", str(tmp_path / "r.mlir")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "nothing to reduce" in proc.stdout
