"""The Python examples run as the README says and report what they should."""

import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TESSERA_BUILD_DIR", ROOT / "build"))


def run_example(name):
    env = dict(os.environ, PYTHONPATH=str(BUILD / "python"))
    proc = subprocess.run(["/usr/bin/python3", str(ROOT / "examples" / name)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_mlp_example():
    out = run_example("mlp.py")
    assert "check against numpy" in out and "PASS" in out


def test_digits_example():
    out = run_example("digits.py")
    lines = [l for l in out.splitlines() if "accuracy" in l]
    assert len(lines) == 4
    accuracy = {l.split()[0]: float(l.split()[-1]) for l in lines}
    assert accuracy["u4,"] > 0.9 and accuracy["f32"] > 0.9


def test_install_step(tmp_path):
    """`cmake --install` gives an importable package and working tools."""
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix)],
                   check=True, capture_output=True)
    code = ("import numpy as np, tessera as ts\n"
            "g = ts.Graph('f'); x = g.input('x', ('M', 4)); g.output(g.relu(x))\n"
            "print(ts.compile(g)(np.array([[-1, 2, -3, 4]], np.float32)).tolist())\n")
    env = dict(os.environ, PYTHONPATH=str(prefix / "lib/python3/dist-packages"))
    out = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[[0.0, 2.0, 0.0, 4.0]]"
    assert (prefix / "bin" / "tessera-compile").exists()
