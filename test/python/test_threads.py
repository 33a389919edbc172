"""Parallel code: column tiles of mpmm run on the runtime's thread pool.

Results must not depend on the thread count (each output element is
computed by one thread, the same way), on either entry point; the thread
count is a compile option (threads=1: serial code, N: at most N) and a call
option (set_num_threads)."""

import numpy as np
import pytest

import tessera as ts
from tessera import _tessera


def layer(rng, n=600, k=256):
    # N = 600: five column tiles of 128, the last one partial.
    q = ts.quantize(rng.standard_normal((n, k)).astype(np.float32), "s5", 64,
                    scale_dtype="f16")
    g = ts.Graph("layer")
    x = g.input("x", ("M", k))
    g.output(g.mpmm(x, q))
    return g, q


def test_results_do_not_depend_on_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    g, q = layer(rng)
    x = rng.standard_normal((19, 256)).astype(np.float32)
    want = x.astype(np.float64) @ ts.dequantize(q).astype(np.float64).T
    results = []
    for threads in (0, 1, 2, 3):
        results.append(ts.compile(g, threads=threads)(x))
        results.append(ts.compile(g, output=tmp_path / f"libt{threads}.so",
                                  threads=threads)(x))
    jit = ts.compile(g)
    for pool in (1, 2, 4):
        jit.set_num_threads(pool)
        assert jit.num_threads() == pool and ts.num_threads() == pool
        results.append(jit(x))
    ts.set_num_threads(0)
    assert ts.num_threads() >= 1
    for r in results:
        assert np.array_equal(r, results[0])
    assert np.allclose(results[0], want, rtol=1e-4, atol=1e-4)


def test_library_thread_count_is_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    g, _ = layer(np.random.default_rng(3))
    fn = ts.compile(g, output=tmp_path / "liblayer.so")
    ts.set_num_threads(3)
    fn.set_num_threads(2)
    assert fn.num_threads() == 2 and ts.num_threads() == 3
    fn.set_num_threads(0)
    ts.set_num_threads(0)


def test_serial_code_does_not_call_the_pool(tmp_path):
    g, _ = layer(np.random.default_rng(5))
    ir = {}
    for threads in (0, 1, 3):
        out = tmp_path / f"layer{threads}.ll"
        _tessera.aot_compile(g.mlir(), "<layer>", str(out), emit="llvm",
                             prefix="layer", threads=threads)
        ir[threads] = out.read_text()
    assert "call void @tessera_rt_parallel_for(i64 5, i64 1, i32 0," in ir[0]
    assert "call void @tessera_rt_parallel_for(i64 5, i64 1, i32 3," in ir[3]
    assert "tessera_rt_parallel_for" not in ir[1]


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_thread_counts(bad):
    g, _ = layer(np.random.default_rng(7), n=8, k=64)
    with pytest.raises(ValueError, match="threads"):
        ts.compile(g, threads=bad)
    with pytest.raises(ValueError, match="threads"):
        ts.set_num_threads(bad)
    with pytest.raises(ValueError, match="threads"):
        ts.compile(g).set_num_threads(bad)
