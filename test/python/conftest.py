"""pytest setup: import the in-tree `tessera` package and find the tools."""

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TESSERA_BUILD_DIR", ROOT / "build"))
# The package as the build assembles it: sources, extension, runtime.
sys.path.insert(0, str(BUILD / "python"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "exhaustive: a case of a matrix whose code paths other cases cover; "
        "the sanitized CI run deselects these (-m 'not exhaustive')")


@pytest.fixture(scope="session")
def tessera_run():
    tool = BUILD / "bin" / "tessera-run"
    if not tool.exists():
        pytest.fail(f"{tool} not found: build first (scripts/build.sh)")
    return str(tool)


class Runner:
    """Runs a function of an MLIR module with tessera-run on numpy arrays."""

    def __init__(self, tool, tmp_path):
        self.tool = tool
        self.tmp = tmp_path
        self.count = 0

    def __call__(self, module_text, entry, inputs, num_results=1):
        import subprocess

        import numpy as np

        self.count += 1
        d = self.tmp / f"run{self.count}"
        d.mkdir()
        module = d / "module.mlir"
        module.write_text(module_text)
        cmd = [self.tool, str(module), "-e", entry]
        for i, a in enumerate(inputs):
            np.save(d / f"in{i}.npy", a)
            cmd += ["-i", str(d / f"in{i}.npy")]
        for i in range(num_results):
            cmd += ["-o", str(d / f"out{i}.npy")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        outs = [np.load(d / f"out{i}.npy") for i in range(num_results)]
        return outs[0] if num_results == 1 else outs


@pytest.fixture
def run(tessera_run, tmp_path):
    return Runner(tessera_run, tmp_path)
