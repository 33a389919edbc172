"""Every CPU code path that can run on this machine, against numpy.

Libraries built for the portable x86-64 baseline (SSE2: 8-lane vectors
split in two), AVX2 (x86-64-v3: 16 vector registers, so the GEMM path keeps
4 x 16 accumulators), AVX-512 (x86-64-v4: 32 registers, 8 x 16) and the host
(with AVX512-VNNI, the row kernels of 1, 2, 3, 4 and 8-bit codes multiply bytes),
each at M = 5 (row blocks of 4 and 1), 23 (the GEMM path for 16 rows in the
full column tiles, blocks of 8 in the other) and 71 (the GEMM path for 64
rows, then the rest), N = 300 (two full column tiles of 128 and a
partial one)."""

import numpy as np
import pytest

import tessera as ts
from tessera import _tessera

TARGETS = ["x86-64", "x86-64-v3", "x86-64-v4", "host"]


def host_has(feature):
    try:
        return feature in open("/proc/cpuinfo").read().split()
    except OSError:
        return False


def compile_layer(tmp_path, monkeypatch, target, dtype, zero, n, k, group, **options):
    """A graph of one mpmm of random weights compiled for `target` (skipped
    where this machine lacks it): the function and the weights' numpy
    dequantization."""
    needs = {"x86-64-v3": "avx2", "x86-64-v4": "avx512vl"}.get(target)
    if needs and not host_has(needs):
        pytest.skip(f"this machine has no {needs}")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    q = ts.quantize(rng.standard_normal((n, k)).astype(np.float32), dtype, group, zero=zero,
                    scale_dtype="f16")
    g = ts.Graph("layer")
    x = g.input("x", ("M", k))
    g.output(g.mpmm(x, q))
    fn = ts.compile(g, output=tmp_path / "liblayer.so", cpu=target, **options)
    return fn, ts.dequantize(q).astype(np.float64)


def check_layer(fn, w, m_values):
    rng = np.random.default_rng()
    k = w.shape[1]
    for m in m_values:
        xv = rng.standard_normal((m, k)).astype(np.float32)
        want = xv.astype(np.float64) @ w.T
        bound = (k + 4) * 2.0 ** -23 * (np.abs(xv.astype(np.float64)) @ np.abs(w).T)
        assert (np.abs(fn(xv) - want) <= bound).all(), f"M={m}"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("dtype,zero", [("u3", "int"), ("s6", "float"), ("s8", "none"),
                                        ("u2", "int"), ("s4", "float")])
def test_target(tmp_path, monkeypatch, target, dtype, zero):
    fn, w = compile_layer(tmp_path, monkeypatch, target, dtype, zero, 300, 320, 32)
    check_layer(fn, w, (5, 23, 71))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("dtype,zero", [("u1", "int"), ("u2", "int"), ("s4", "float"),
                                        ("s8", "none")])
def test_target_group_terms_in_spans(tmp_path, monkeypatch, target, dtype, zero):
    # N = 320, a multiple of 64: the scales and zero points of interleaved
    # weights in spans of 64 columns, read in place by each target's row
    # kernels (M = 1, 5) and GEMM fills (23).
    fn, w = compile_layer(tmp_path, monkeypatch, target, dtype, zero, 320, 256, 64,
                          strategy="dequantize")
    layouts = {s["name"].rsplit(".", 1)[-1]: s["layout"] for s in fn.inputs}
    assert layouts["scales"] == "#tessera.layout<tile = [64, 1]>", layouts
    check_layer(fn, w, (1, 5, 23))


def test_register_budget_follows_the_target(tmp_path):
    g = ts.Graph("layer")
    x = g.input("x", ("M", 64))
    q = ts.quantize(np.random.default_rng(1).standard_normal((256, 64)).astype(np.float32),
                    "u4", 32)
    g.output(g.mpmm(x, q))
    fmas = {}
    for target in ("x86-64-v3", "x86-64-v4"):
        out = tmp_path / f"{target}.mlir"
        _tessera.aot_compile(g.mlir(), "<layer>", str(out), emit="mlir", cpu=target,
                             prefix="layer")
        fmas[target] = {lanes: sum(line.count(f"vector<{lanes}xf32>") > 0
                                   for line in out.read_text().splitlines()
                                   if "llvm.intr.fma" in line or "llvm.intr.fmuladd" in line)
                        for lanes in (8, 16)}
    # AVX2 (16 registers): everything in 8-lane vectors. AVX-512 (32): the
    # GEMM micro kernel (8 rows x 2 vectors, 8 k per step: 128 FMAs) and the
    # row kernel in 16 lanes.
    assert fmas["x86-64-v3"][16] == 0 and fmas["x86-64-v3"][8] > 0, fmas
    assert fmas["x86-64-v4"][16] >= 128, fmas


@pytest.mark.parametrize("target", ["x86-64-v3", "host"])
@pytest.mark.parametrize("m,k,n", [(1, 64, 300), (9, 72, 260), (71, 320, 513), (16, 8, 256),
                                   (3, 200, 768), (17, 96, 512), (1, 1024, 1024),
                                   (1, 48, 1800)])
def test_dense_matmul(tmp_path, monkeypatch, target, m, k, n):
    # The GEMM tiles for full blocks of 8 rows and full column tiles of 256,
    # matmul loops on slices for the rest; one row of A: the GEMV in chunks
    # of 1024 columns (1800: a full and a partial chunk, and a remainder).
    if target == "x86-64-v3" and not host_has("avx2"):
        pytest.skip("this machine has no avx2")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    w = rng.standard_normal((k, n)).astype(np.float32)
    g = ts.Graph("mm")
    x = g.input("x", ("M", k))
    g.output(g.matmul(x, w))
    xv = rng.standard_normal((m, k)).astype(np.float32)
    want = xv.astype(np.float64) @ w.astype(np.float64)
    bound = (k + 2) * 2.0 ** -23 * (np.abs(xv) @ np.abs(w)).astype(np.float64)
    for fn in (ts.compile(g, output=tmp_path / "libmm.so", cpu=target),
               ts.compile(g) if target == "host" else None):
        if fn is not None:
            assert (np.abs(fn(xv) - want) <= bound).all()


@pytest.mark.parametrize("n", [300, 768])
def test_fused_epilogue(tmp_path, monkeypatch, n):
    # bias + gelu + residual after an mpmm: fused into its column tiles (one
    # linalg.generic per tile), at M = 1, 13 (row blocks) and 71 (the GEMM
    # path), JIT and AOT. N = 768: tiled with its consumer by
    # tessera-tile-mpmm (test/Transforms/tile-mpmm.mlir); N = 300 (a partial
    # tile): left whole there, the vector lowering makes the tiles and fuses
    # (test/Conversion/lower-mpmm-to-vector.mlir).
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    k = 128
    q = ts.quantize(rng.standard_normal((n, k)).astype(np.float32), "u4", 32)
    bias = rng.standard_normal(n).astype(np.float32)
    g = ts.Graph("fused")
    x = g.input("x", ("M", k))
    r = g.input("r", ("M", n))
    g.output(g.gelu(g.mpmm(x, q) + bias) + r)
    w = ts.dequantize(q).astype(np.float64)
    for fn in (ts.compile(g), ts.compile(g, output=tmp_path / "libfused.so")):
        for m in (1, 13, 71):
            xv = rng.standard_normal((m, k)).astype(np.float32)
            rv = rng.standard_normal((m, n)).astype(np.float32)
            y = xv.astype(np.float64) @ w.T + bias
            want = 0.5 * y * (1 + np.tanh(0.7978845608028654 * (y + 0.044715 * y ** 3))) + rv
            scale = np.abs(xv.astype(np.float64)) @ np.abs(w).T + np.abs(bias) + np.abs(rv)
            assert (np.abs(fn(xv, rv) - want) <= 1e-5 * scale + 1e-5).all(), f"M={m}"


@pytest.mark.parametrize("target", TARGETS)
def test_structured_target(tmp_path, monkeypatch, target):
    """Monarch and block-sparse kernels per target: AVX2's 16 registers give
    3 x 3 register tiles and panels of 24 lanes, AVX-512's 6 x 4 and 32."""
    needs = {"x86-64-v3": "avx2", "x86-64-v4": "avx512vl"}.get(target)
    if needs and not host_has(needs):
        pytest.skip(f"this machine has no {needs}")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    m = ts.monarch.MonarchMatrix(rng.standard_normal((8, 8, 12)), rng.standard_normal((8, 11, 8)),
                                 shape=(85, 90))
    sparse = ts.bsr.from_dense(rng.standard_normal((96, 90)), (16, 6), 0.3)
    g = ts.Graph("structured")
    x = g.input("x", ("M", 90))
    g.output(g.monarch_mm(x, m), g.bsr_mm(x, sparse))
    fn = ts.compile(g, output=tmp_path / "libstructured.so", cpu=target)
    for rows in (3, 29, 53):  # partial panels of 24 and 32 lanes
        xv = rng.standard_normal((rows, 90)).astype(np.float32)
        ym, yb = fn(xv)
        for got, w in ((ym, m.to_dense()), (yb, sparse.to_dense().astype(np.float64))):
            want = xv.astype(np.float64) @ w.T
            bound = 100 * 2.0 ** -23 * (np.abs(xv.astype(np.float64)) @ np.abs(w).T)
            assert (np.abs(got - want) <= bound).all(), f"M={rows}"


@pytest.mark.parametrize("target,dots,tiles", [("skylake-avx512", False, False),
                                               ("cascadelake", True, False),
                                               ("icelake-server", True, True)])
def test_byte_dots_follow_the_target(tmp_path, monkeypatch, target, dots, tiles):
    # The dequantize kernel's row kernels multiply bytes (vpdpbusd) where
    # the target has AVX512-VNNI (Cascade Lake on), and read 5-7 bit codes
    # in tiles of 16 x 4 (vpmultishiftqb) where it has AVX512-VBMI too (Ice
    # Lake on); each library is run here (this host has them all, or the
    # case is skipped) against the dequantized matrix.
    needs = {"cascadelake": "avx512_vnni", "icelake-server": "avx512vbmi"}.get(target,
                                                                               "avx512vl")
    if not host_has(needs) or not host_has("avx512_vnni" if dots else "avx512vl"):
        pytest.skip(f"this machine has no {needs}")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    k = 256
    g = ts.Graph("layer")
    x = g.input("x", ("M", k))
    qs = [ts.quantize(rng.standard_normal((64, k)).astype(np.float32), dtype, 32,
                      zero="int", scale_dtype="f16") for dtype in ("u4", "s6")]
    g.output(g.mpmm(x, qs[0]), g.mpmm(x, qs[1]))
    out = tmp_path / "layer.mlir"
    _tessera.aot_compile(g.mlir(), "<layer>", str(out), emit="mlir", cpu=target,
                         prefix="layer")
    text = out.read_text()
    assert ("llvm.x86.avx512.vpdpbusd" in text) == dots
    assert ("llvm.x86.avx512.pmultishift.qb" in text) == tiles
    fn = ts.compile(g, output=tmp_path / "liblayer.so", cpu=target)
    for m in (1, 3, 21):
        xv = rng.standard_normal((m, k)).astype(np.float32)
        for y, q in zip(fn(xv), qs):
            w = ts.dequantize(q).astype(np.float64)
            want = xv.astype(np.float64) @ w.T
            # The byte kernels round x to 2^-22 of its group's largest |x|.
            bound = (k + 4) * 2.0 ** -23 * (np.abs(xv.astype(np.float64)) @ np.abs(w).T) + \
                2.0 ** -22 * (np.abs(xv).max() * np.abs(w).sum(axis=1))
            assert (np.abs(y - want) <= bound).all(), f"M={m}"
