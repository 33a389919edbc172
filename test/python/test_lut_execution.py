"""The LUT (T-MAC) strategy of tessera.mpmm against the numpy reference.

Every width 1-8, signed and unsigned, every zero-point mode, int8 and f32
tables, group sizes 32, 64 and 128, M in {1, 3, 64}, on fresh random inputs.
N = 64 takes the vector kernel where the host has byte shuffles (AVX2 /
AVX-512BW); N = 40 is not a multiple of the shuffle width and takes the
reference lowering of the LUT ops. Results must lie within the bound of
docs/lut.md (reference.lut_error_bound): int8 tables are lossy by design, by
at most half a table step per lookup.
"""

import itertools

import numpy as np
import pytest

import tessera as ts
from tessera import reference

from test_mpmm_execution import int_type, mpmm_module

K = 256
GROUPS = (32, 64, 128)
MATRIX = [
    (bits, signed, zero_mode, tables)
    for bits, signed, zero_mode, tables in itertools.product(
        range(1, 9), (False, True), ("none", "int", "float"), ("lut", "lut_f32"))
]


def check_lut(rng, n, k, bits, signed, zero_mode, group, strategy, m_values=(1, 3, 64),
              scale_dtype="f32"):
    zero_type = int_type(bits, signed) if zero_mode == "int" else scale_dtype
    f = ts.compile(mpmm_module(n, k, bits, signed, zero_mode, group, scale_dtype, zero_type),
                   strategy=strategy)
    lo, hi = reference.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=(n, k))
    ng = k // group
    np_scale = np.float32 if scale_dtype == "f32" else np.float16
    scales = (rng.uniform(0.25, 2.0, size=(n, ng)) *
              rng.choice([-1, 1], size=(n, ng))).astype(np_scale)
    args = [reference.pack(codes, bits), scales]
    zeros = None
    if zero_mode == "int":
        zeros = rng.integers(lo, hi + 1, size=(n, ng))
        args.append(reference.pack(zeros, bits))
    elif zero_mode == "float":
        zeros = rng.standard_normal((n, ng)).astype(np_scale)
        args.append(zeros)
    for m in m_values:
        x = rng.standard_normal((m, k)).astype(np.float32)
        y = f(x, *args)
        assert y.shape == (m, n)
        want = reference.mpmm(x, codes, scales, group, zeros, zero_mode)
        bound = reference.lut_error_bound(x, codes, scales, group, bits, zeros, zero_mode,
                                          int8_tables=strategy == "lut")
        err = np.abs(y.astype(np.float64) - want)
        worst = np.unravel_index(np.argmax(err - bound), err.shape)
        assert (err <= bound).all(), (
            f"M={m}: |y - ref| = {err[worst]:.3g} > bound {bound[worst]:.3g} at {worst}: "
            f"got {y[worst]}, want {want[worst]}")
        # The bound is tight enough to catch a wrong plane or sign: a
        # dropped lookup errs by far more than half a table step.
        if strategy == "lut_f32":
            assert err.max() <= 1e-3 * max(1.0, np.abs(want).max())


@pytest.mark.parametrize("bits,signed,zero_mode,strategy", MATRIX,
                         ids=[f"{int_type(b, s)}-{z}-{t}" for b, s, z, t in MATRIX])
def test_lut_matrix(bits, signed, zero_mode, strategy):
    case = MATRIX.index((bits, signed, zero_mode, strategy))
    rng = np.random.default_rng()
    check_lut(rng, 64, K, bits, signed, zero_mode, GROUPS[case % 3], strategy)


@pytest.mark.parametrize("bits,signed,zero_mode", [(2, False, "int"), (3, True, "float"),
                                                   (4, False, "none")])
def test_lut_reference_lowering(bits, signed, zero_mode):
    # N = 40: no vector kernel; the LUT ops' reference lowering.
    for strategy in ("lut", "lut_f32"):
        check_lut(np.random.default_rng(), 40, 128, bits, signed, zero_mode, 32, strategy)


def test_lut_f16_scales_and_wide_k():
    # K = 1024 (many groups), f16 scales, 256 rows (several row blocks).
    check_lut(np.random.default_rng(), 256, 1024, 2, False, "int", 128, "lut",
              m_values=(1, 5), scale_dtype="f16")


def test_lut_int8_tables_are_quantized():
    # Int8 tables differ from exact ones (so the test above does not pass
    # by computing exactly), but stay within the derived bound.
    rng = np.random.default_rng()
    n, k, group = 64, 256, 128
    text = mpmm_module(n, k, 2, False, "none", group, "f32", None)
    lut = ts.compile(text, strategy="lut")
    exact = ts.compile(text, strategy="lut_f32")
    codes = rng.integers(0, 4, size=(n, k))
    scales = rng.uniform(0.25, 2.0, size=(n, k // group)).astype(np.float32)
    x = rng.standard_normal((1, k)).astype(np.float32)
    w = reference.pack(codes, 2)
    assert not np.allclose(lut(x, w, scales), exact(x, w, scales), rtol=0, atol=1e-6)
