"""tessera.monarch_mm and tessera.bsr_mm against the numpy reference, and the
Python helpers (Monarch projection, block pruning, scipy conversion).

f32 programs take the vector kernels (batches that fill panels of lanes and
ones that leave a partial panel or rows past a multiple of 8); f16
activations take the reference lowering. Every input is fresh random data.
"""

import itertools

import numpy as np
import pytest

import tessera as ts
from tessera import reference


def close(y, ref, rel=2e-5):
    scale = max(1.0, float(np.abs(ref).max()))
    assert y.shape == ref.shape
    assert np.abs(y - ref).max() <= rel * scale, np.abs(y - ref).max()


def random_monarch(rng, k, q, p, l, s, r, shape=None):
    assert k * q == l * r
    return ts.monarch.MonarchMatrix(rng.standard_normal((k, q, p)), rng.standard_normal((l, s, r)),
                                    shape=shape)


def monarch_fn(m, dtype="f32", constant=False, **compile_args):
    g = ts.Graph("monarch")
    x = g.input("x", ("B", m.shape[1]), dtype=dtype)
    g.output(g.monarch_mm(x, m, constant=constant))
    return ts.compile(g, **compile_args)


MONARCH_SHAPES = [
    # (k, q, p), (l, s, r), logical shape (None: l*s x k*p)
    ((8, 8, 8), (8, 8, 8), None),            # square, sqrt(n) blocks
    ((4, 4, 16), (4, 16, 4), None),           # fly's rank-1 projection shape
    ((4, 8, 16), (8, 6, 4), None),            # rectangular: k != l, q != r
    ((3, 4, 5), (2, 7, 6), (11, 13)),         # padded input, truncated output
    ((2, 3, 7), (3, 5, 2), (15, 14)),         # odd everything
]


@pytest.mark.parametrize("factors", MONARCH_SHAPES, ids=lambda f: f"{f[0]}-{f[1]}-{f[2]}")
def test_monarch_kernel(factors):
    rng = np.random.default_rng(hash(str(factors)) % 2**32)
    (k, q, p), (l, s, r), shape = factors
    m = random_monarch(rng, k, q, p, l, s, r, shape)
    fn = monarch_fn(m)
    for batch in (1, 3, 8, 17, 32, 40, 67, 129, 300):  # past 128: row groups
        x = rng.standard_normal((batch, m.shape[1])).astype(np.float32)
        close(fn(x=x), reference.monarch_mm(x, m.w1, m.w2, m.shape[0]))
        close(fn(x=x), x.astype(np.float64) @ m.to_dense().T)


def test_monarch_reference_lowering_f16_and_constants():
    rng = np.random.default_rng(1)
    m = random_monarch(rng, 3, 4, 5, 2, 7, 6, shape=(11, 13))
    x = rng.standard_normal((5, 13)).astype(np.float16)
    ref = reference.monarch_mm(x.astype(np.float32), m.w1, m.w2, 11)
    close(monarch_fn(m, dtype="f16")(x=x).astype(np.float64), ref, rel=2e-3)
    x32 = x.astype(np.float32)
    close(monarch_fn(m, constant=True)(x=x32), ref)


def test_monarch_aot(tmp_path):
    rng = np.random.default_rng(2)
    m = random_monarch(rng, 8, 8, 8, 8, 8, 8)
    fn = monarch_fn(m, output=tmp_path / "libmonarch.so")
    x = rng.standard_normal((19, 64)).astype(np.float32)
    close(fn(x=x), reference.monarch_mm(x, m.w1, m.w2))


def test_monarch_threads_agree():
    rng = np.random.default_rng(3)
    m = random_monarch(rng, 16, 16, 16, 16, 16, 16)
    fn = monarch_fn(m)
    x = rng.standard_normal((40, 256)).astype(np.float32)
    ref = reference.monarch_mm(x, m.w1, m.w2)
    for threads in (1, 2, 3):
        fn.set_num_threads(threads)
        close(fn(x=x), ref)


@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("shape,nblocks", [((64, 64), 8), ((48, 80), 4), ((50, 70), 4),
                                           ((30, 30), 5)])
def test_project_recovers_monarch(shape, nblocks, rank):
    rng = np.random.default_rng(4)
    n, k = shape
    p, s = -(-k // nblocks), -(-n // nblocks)
    if rank > min(p, s):
        pytest.skip("rank larger than a block")
    q = nblocks * rank
    truth = random_monarch(rng, nblocks, q, p, nblocks, s, q, shape=shape).to_dense()
    proj = ts.monarch.project(truth, nblocks, rank)
    assert proj.w1.shape == (nblocks, q, p) and proj.w2.shape == (nblocks, s, q)
    assert np.abs(proj.to_dense() - truth).max() <= 1e-5 * np.abs(truth).max()


@pytest.mark.parametrize("shape,nblocks", [((64, 64), 8), ((50, 70), 4), ((96, 32), 4)])
def test_project_is_best_approximation(shape, nblocks):
    rng = np.random.default_rng(5)
    w = rng.standard_normal(shape)
    proj = ts.monarch.project(w, nblocks)
    best = np.linalg.norm(proj.to_dense() - w)
    assert best < np.linalg.norm(w)
    for scale in (1e-3, 1e-1):
        for _ in range(10):
            w1 = proj.w1 + scale * rng.standard_normal(proj.w1.shape)
            w2 = proj.w2 + scale * rng.standard_normal(proj.w2.shape)
            other = ts.monarch.MonarchMatrix(w1, w2, shape=shape).to_dense()
            assert np.linalg.norm(other - w) >= best * (1 - 1e-6)
    # The compiled product of the projection is the projection's dense matrix.
    x = rng.standard_normal((9, shape[1])).astype(np.float32)
    close(monarch_fn(proj)(x=x), x.astype(np.float64) @ proj.to_dense().T)


def test_monarch_errors():
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="do not compose"):
        ts.monarch.MonarchMatrix(np.ones((2, 3, 2)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="nblocks"):
        ts.monarch.project(np.ones((4, 4)), 5)
    m = random_monarch(rng, 2, 2, 2, 2, 2, 2)
    g = ts.Graph("bad")
    x = g.input("x", ("B", 5))
    with pytest.raises(ValueError, match="does not match"):
        g.monarch_mm(x, m)
    fn = monarch_fn(m)
    with pytest.raises(ValueError, match="x"):
        fn(x=np.ones((2, 5), np.float32))


# The block shapes, plus 8 x 8 and 32 x 8 (the kernel for few rows of X
# vectorizes over block columns in 8s and groups block rows by 16).
BLOCKS = [(1, 1), (4, 1), (4, 4), (8, 8), (16, 16), (32, 8)]
DENSITIES = [0.0, 0.1, 0.5, 1.0]


def bsr_fn(w, constant_pattern=False, constant=False, dtype="f32", **compile_args):
    g = ts.Graph("bsr")
    x = g.input("x", ("M", w.shape[1]), dtype=dtype)
    g.output(g.bsr_mm(x, w, constant_pattern=constant_pattern, constant=constant))
    return ts.compile(g, **compile_args)


@pytest.mark.parametrize("block,density", list(itertools.product(BLOCKS, DENSITIES)),
                         ids=lambda v: str(v))
def test_bsr_kernel(block, density):
    rng = np.random.default_rng(abs(hash((block, density))) % 2**32)
    w = ts.bsr.from_dense(rng.standard_normal((64, 48)), block, density)
    assert abs(w.density - density) < 0.2
    fns = [bsr_fn(w), bsr_fn(w, constant_pattern=True)]
    for m in (1, 5, 6, 33):  # below 6 rows, C % 8 == 0: vectorized over the block
        x = rng.standard_normal((m, 48)).astype(np.float32)
        ref = reference.bsr_mm(x, w.indptr, w.indices, w.blocks, 64)
        close(ref, x.astype(np.float64) @ w.to_dense().T.astype(np.float64), rel=1e-6)
        for fn in fns:
            close(fn(x=x), ref)


def test_bsr_runtime_pattern_changes_between_calls():
    rng = np.random.default_rng(7)
    g = ts.Graph("bsr")
    x = g.input("x", ("M", 32))
    g.output(g.bsr_mm(x, ts.bsr.from_dense(rng.standard_normal((16, 32)), (4, 4), 0.5)))
    fn = ts.compile(g.mlir())  # every argument at call time
    for density in (0.0, 0.25, 1.0):
        w = ts.bsr.from_dense(rng.standard_normal((16, 32)), (4, 4), density)
        xv = rng.standard_normal((6, 32)).astype(np.float32)
        close(fn(xv, w.indptr, w.indices, w.blocks),
              reference.bsr_mm(xv, w.indptr, w.indices, w.blocks, 16))


def test_bsr_invalid_runtime_pattern_stays_in_bounds():
    """A broken pattern gives unspecified values but no out-of-bounds access:
    ranges clamped to [0, nnz], blocks with out-of-range columns skipped."""
    rng = np.random.default_rng(8)
    g = ts.Graph("bsr")
    x = g.input("x", ("M", 32))
    g.output(g.bsr_mm(x, ts.bsr.from_dense(rng.standard_normal((16, 32)), (4, 4), 0.5)))
    fn = ts.compile(g.mlir())
    xv = rng.standard_normal((3, 32)).astype(np.float32)
    blocks = rng.standard_normal((4, 4, 4)).astype(np.float32)
    indices = np.array([0, 99, -5, 7], np.int32)          # 99, -5 out of range (K/C = 8)
    indptr = np.array([0, 2, 1 << 30, -3, 4], np.int32)  # beyond nnz and negative
    y = fn(xv, indptr, indices, blocks)
    assert np.isfinite(y).all()
    # Row 0: [0, 2) keeps block 0 (block 1's column is out of range); row 1:
    # [2, 4) keeps block 3; row 2: [4, 4) is empty; row 3: [0 (clamped), 4)
    # keeps blocks 0 and 3. (For this pattern the run-time partition of rows
    # into chunks still covers each row once.)
    ref = reference.bsr_mm(xv, np.array([0, 1, 2, 2, 4]), indices[[0, 3, 0, 3]],
                           blocks[[0, 3, 0, 3]], 16)
    close(y, ref)


def test_bsr_reference_lowering_f16_and_constant_blocks():
    rng = np.random.default_rng(9)
    w = ts.bsr.from_dense(rng.standard_normal((32, 16)), (4, 4), 0.5)
    x = rng.standard_normal((3, 16)).astype(np.float16)
    ref = reference.bsr_mm(x.astype(np.float32), w.indptr, w.indices, w.blocks, 32)
    close(bsr_fn(w, dtype="f16")(x=x).astype(np.float64), ref, rel=2e-3)
    close(bsr_fn(w, constant=True)(x=x.astype(np.float32)), ref)


def test_bsr_aot_and_threads(tmp_path):
    rng = np.random.default_rng(10)
    w = ts.bsr.from_dense(rng.standard_normal((256, 128)), (16, 16), 0.3)
    fn = bsr_fn(w, output=tmp_path / "libbsr.so")
    x = rng.standard_normal((21, 128)).astype(np.float32)
    ref = reference.bsr_mm(x, w.indptr, w.indices, w.blocks, 256)
    for threads in (1, 2, 3):
        fn.set_num_threads(threads)
        close(fn(x=x), ref)


def test_bsr_from_dense_keeps_largest_blocks():
    rng = np.random.default_rng(11)
    w = rng.standard_normal((16, 16)).astype(np.float32)
    w[4:8, 8:12] *= 100  # the largest block
    sparse = ts.bsr.from_dense(w, (4, 4), 1 / 16)
    assert sparse.nnz_blocks == 1 and list(sparse.indices) == [2]
    assert list(sparse.indptr) == [0, 0, 1, 1, 1]
    np.testing.assert_array_equal(sparse.to_dense()[4:8, 8:12], w[4:8, 8:12])
    full = ts.bsr.from_dense(w, (4, 4), 1.0)
    np.testing.assert_array_equal(full.to_dense(), w)
    assert ts.bsr.from_dense(w, (4, 4), 0.0).nnz_blocks == 0
    with pytest.raises(ValueError, match="divide"):
        ts.bsr.from_dense(w, (3, 4), 0.5)
    with pytest.raises(ValueError, match="indices"):
        ts.bsr.BsrMatrix([0, 1], [5], np.ones((1, 4, 4)), (4, 8))


def test_bsr_scipy_round_trip():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(12)
    w = ts.bsr.from_dense(rng.standard_normal((32, 48)), (4, 8), 0.3)
    sp = w.to_scipy()
    assert scipy_sparse.isspmatrix_bsr(sp) and sp.blocksize == (4, 8)
    np.testing.assert_array_equal(sp.toarray(), w.to_dense())
    back = ts.bsr.from_scipy(sp)
    np.testing.assert_array_equal(back.to_dense(), w.to_dense())
    # Any scipy matrix, converted to BSR with its block size.
    csr = scipy_sparse.random(16, 16, density=0.3, format="csr", random_state=1)
    np.testing.assert_allclose(ts.bsr.from_scipy(csr).to_dense(), csr.toarray(), rtol=1e-6)
    x = rng.standard_normal((4, 48)).astype(np.float32)
    close(bsr_fn(back)(x=x), x.astype(np.float64) @ sp.toarray().T)


def test_readme_example():
    """The README's structured example, checked against the dense matrices."""
    m = ts.monarch.project(np.random.randn(512, 512), nblocks=16)
    sparse = ts.bsr.from_dense(np.random.randn(512, 512), (16, 16), 0.1)
    g = ts.Graph("structured")
    x = g.input("x", shape=("B", 512))
    g.output(g.monarch_mm(x, m) + g.bsr_mm(x, sparse))
    fn = ts.compile(g)
    xv = np.random.randn(32, 512).astype(np.float32)
    ref = xv.astype(np.float64) @ (m.to_dense() + sparse.to_dense()).T
    close(fn(x=xv), ref)


def test_bsr_aot_runtime_pattern_of_any_size(tmp_path):
    """Through the C ABI: the pattern's nnz is a dynamic dimension."""
    rng = np.random.default_rng(13)
    g = ts.Graph("bsr")
    x = g.input("x", ("M", 64))
    g.output(g.bsr_mm(x, ts.bsr.from_dense(rng.standard_normal((32, 64)), (8, 8), 0.5)))
    fn = ts.compile(g.mlir(), output=tmp_path / "libbsr_rt.so")
    for density in (0.0, 0.3, 1.0):
        w = ts.bsr.from_dense(rng.standard_normal((32, 64)), (8, 8), density)
        for m in (2, 9):
            xv = rng.standard_normal((m, 64)).astype(np.float32)
            close(fn(xv, w.indptr, w.indices, w.blocks),
                  reference.bsr_mm(xv, w.indptr, w.indices, w.blocks, 32))
    with pytest.raises(ValueError, match="indptr"):
        fn(np.ones((2, 64), np.float32), np.zeros(3, np.int32), w.indices, w.blocks)
