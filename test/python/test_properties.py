"""Property tests (hypothesis) of the packers, float formats, quantizers and
importers: round trips, bounds and idempotence on generated inputs."""

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import tessera as ts
from tessera import importers
from tessera import reference as ref

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def codes_and_type(draw):
    bits = draw(st.integers(1, 8))
    signed = draw(st.booleans())
    rows = draw(st.integers(1, 9))
    cols = draw(st.integers(1, 23))
    lo, hi = ref.code_range(bits, signed)
    codes = np.array(draw(st.lists(st.integers(lo, hi), min_size=rows * cols,
                                   max_size=rows * cols))).reshape(rows, cols)
    return codes, f"{'s' if signed else 'u'}{bits}"


@settings(max_examples=200, **SETTINGS)
@given(codes_and_type(), st.booleans(), st.data())
def test_pack_unpack_round_trip_any_layout(ct, planes, data):
    codes, dtype = ct
    rows, cols = codes.shape
    tile = None
    if data.draw(st.booleans()):
        tile = (data.draw(st.sampled_from([d for d in range(1, rows + 1) if rows % d == 0])),
                data.draw(st.sampled_from([d for d in range(1, cols + 1) if cols % d == 0])))
    packed = ts.pack(codes, dtype, tile=tile, bit_planes=planes)
    bits = ts.code_type(dtype).bits
    assert np.array_equal(packed, ref.pack_layout(codes, bits, list(tile) if tile else None, planes))
    assert np.array_equal(ts.unpack(packed, codes.shape, dtype, tile=tile, bit_planes=planes), codes)
    # Packing is idempotent through a round trip.
    again = ts.pack(ts.unpack(packed, codes.shape, dtype, tile=tile, bit_planes=planes), dtype,
                    tile=tile, bit_planes=planes)
    assert np.array_equal(again, packed)


@settings(max_examples=300, **SETTINGS)
@given(st.sampled_from(ref.FLOAT_FORMATS), st.floats(allow_nan=False, width=32))
def test_float_encode_is_nearest_and_saturating(em, x):
    e, m = em
    code = int(ts._tessera.float_encode(np.array([x], np.float32), e, m)[0])
    assert code == int(ref.float_encode(np.array([x]), e, m)[0])
    table = ref.float_table(e, m)
    value = table[code]
    finite = table[np.isfinite(table)]
    if np.isinf(x) and e == 5:
        assert np.isinf(value)
    else:
        # No finite value is strictly nearer (saturation at the largest).
        target = np.clip(x, finite.min(), finite.max())
        assert abs(value - target) <= np.min(np.abs(finite - target)) + 0.0


@settings(max_examples=100, **SETTINGS)
@given(st.sampled_from(ref.FLOAT_FORMATS))
def test_float_encode_of_decode_is_identity(em):
    e, m = em
    table = ts._tessera.float_table(e, m)
    codes = np.arange(table.size)
    finite = np.isfinite(table)
    again = ts._tessera.float_encode(table[finite], e, m)
    # -0 and +0 keep their signs; every finite code maps back to itself.
    assert np.array_equal(again, codes[finite])


@st.composite
def weights(draw):
    groups = draw(st.integers(1, 3))
    group = draw(st.sampled_from([8, 16, 32]))
    rows = draw(st.integers(1, 4))
    scale = draw(st.floats(1e-3, 1e3))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    w = np.random.default_rng(seed).standard_normal((rows, groups * group)) * scale
    return w.astype(np.float32), group


@settings(max_examples=40, **SETTINGS)
@given(weights(), st.integers(2, 8), st.sampled_from(["int", "float"]))
def test_quantize_dequantize_within_half_a_step(wg, bits, zero):
    w, group = wg
    q = ts.quantize(w, f"u{bits}", group, zero=zero)
    deq = ts.dequantize(q)
    step = np.repeat(q.scales.astype(np.float64), group, axis=1)
    slack = 1e-5 * (np.abs(w) + step)
    if zero == "float":
        lo = w.reshape(w.shape[0], -1, group).min(axis=2)
        slack += np.repeat(np.abs(q.zeros - lo), group, axis=1)
    assert np.all(np.abs(deq - w) <= step / 2 + slack)
    # Quantizing what dequantize returns changes it by at most the rounding
    # of a new scale: values already on a grid stay (nearly) on it.
    again = ts.dequantize(ts.quantize(deq, f"u{bits}", group, zero=zero))
    assert np.all(np.abs(again - deq) <= step / 2 + slack)


@settings(max_examples=50, **SETTINGS)
@given(st.sampled_from([2, 3, 4, 8]), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2 ** 32 - 1))
def test_gptq_import_recovers_codes(bits, word_rows, col_words, seed):
    rng = np.random.default_rng(seed)
    k = word_rows * 32            # any K that fills whole words for every width
    n = col_words * 32
    codes = rng.integers(0, 1 << bits, size=(k, n))
    zeros = rng.integers(1, 1 << bits, size=(1, n))
    bitmap = ((codes[:, None, :] >> np.arange(bits)[None, :, None]) & 1).reshape(k * bits, n)
    qweight = np.packbits(bitmap.astype(np.uint8), axis=0, bitorder="little")
    qweight = qweight.reshape(-1, 4, n).transpose(0, 2, 1).copy().view("<u4").reshape(-1, n)
    zbits = (((zeros - 1)[:, :, None] >> np.arange(bits)) & 1).reshape(1, n * bits)
    qzeros = np.packbits(zbits.astype(np.uint8), axis=1, bitorder="little").view("<u4")
    scales = np.ones((1, n), np.float16)
    q = importers.gptq(qweight.view(np.int32), qzeros.view(np.int32), scales, None, bits, k)
    assert np.array_equal(q.codes, codes.T)
    assert np.array_equal(q.zeros, zeros.T)
