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
