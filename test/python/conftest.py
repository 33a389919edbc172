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
    """Runs a function of an MLIR module on numpy arrays: compiled once per
    module, in process (tessera.compile, the JIT), and called as often as a
    test asks (as a rule once per M)."""

    def __init__(self):
        self.functions = {}

    def __call__(self, module_text, entry, inputs, num_results=1):
        import tessera as ts

        key = (module_text, entry)
        if key not in self.functions:
            self.functions[key] = ts.compile(module_text, entry=entry)
        outs = self.functions[key](*inputs)
        if num_results == 1:
            return outs
        assert isinstance(outs, tuple) and len(outs) == num_results, outs
        return list(outs)


@pytest.fixture
def run():
    return Runner()
