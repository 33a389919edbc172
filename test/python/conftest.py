"""pytest setup: import the in-tree `tessera` package and find the tools."""

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
BUILD = pathlib.Path(os.environ.get("TESSERA_BUILD_DIR", ROOT / "build"))


@pytest.fixture(scope="session")
def tessera_run():
    tool = BUILD / "bin" / "tessera-run"
    if not tool.exists():
        pytest.fail(f"{tool} not found: build first (scripts/build.sh)")
    return str(tool)
