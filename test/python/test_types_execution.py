"""The type system end to end on CPU: every code of every type, quantize ->
dequantize, mpmm with float weights, lookup, and pack/unpack round trips,
against the independent numpy reference on fresh random inputs."""

import numpy as np
import pytest

from matrices import matrix_params
from tessera import reference as ref

INT_TYPES = [(b, s) for b in range(1, 9) for s in (False, True)]
# (type spelling, (E, M)) for every Tessera format and every builtin one.
FLOAT_TYPES = ([(ref.float_type_name(e, m), (e, m)) for e, m in ref.FLOAT_FORMATS]
               + [(name, em) for name, em in ref.BUILTIN_FLOATS.items()])
NP = {"f32": np.float32, "f16": np.float16}


def int_name(bits, signed):
    return f"{'s' if signed else 'u'}i{bits}"


def same_values(got, want):
    """Equal, NaN where NaN, and zeros of the same sign."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    both_nan = np.isnan(got) & np.isnan(want)
    equal = (got == want) & (np.signbit(got) == np.signbit(want))
    return bool(np.all(both_nan | equal))


def dequantize_module(n, k, code_type, group, scale="f32", zero_type=None):
    ng = k // group
    zarg = f", %z: tensor<{n}x{ng}x{zero_type}>" if zero_type else ""
    zuse = f" zeros %z : tensor<{n}x{ng}x{zero_type}>" if zero_type else ""
    return f"""
func.func @deq(%q: tensor<{n}x{k}x{code_type}>, %s: tensor<{n}x{ng}x{scale}>{zarg}) -> tensor<{n}x{k}xf32> {{
  %d = tessera.dequantize %q : tensor<{n}x{k}x{code_type}> scales %s : tensor<{n}x{ng}x{scale}>{zuse} group_size {group} -> tensor<{n}x{k}xf32>
  return %d : tensor<{n}x{k}xf32>
}}"""


# --- every code of every type ------------------------------------------------

@pytest.mark.parametrize("name,em", FLOAT_TYPES, ids=[t for t, _ in FLOAT_TYPES])
def test_every_float_code_decodes_exactly(run, name, em):
    e, m = em
    count = 1 << (1 + e + m)
    codes = np.arange(count).reshape(1, count)
    got = run(dequantize_module(1, count, name, count), "deq",
              [ref.pack(codes, 1 + e + m), np.ones((1, 1), np.float32)])
    assert same_values(got[0], ref.float_table(e, m))


@pytest.mark.parametrize("bits,signed", INT_TYPES,
                         ids=[int_name(b, s) for b, s in INT_TYPES])
def test_every_integer_code_decodes_exactly(run, bits, signed):
    lo, hi = ref.code_range(bits, signed)
    codes = np.arange(lo, hi + 1).reshape(1, -1)
    n = codes.shape[1]
    got = run(dequantize_module(1, n, int_name(bits, signed), n), "deq",
              [ref.pack(codes, bits), np.ones((1, 1), np.float32)])
    assert same_values(got[0], codes[0])


# --- quantize -> dequantize ----------------------------------------------------

def quantize_module(n, k, group, code_type, scale, zero_type):
    ng = k // group
    types = [f"tensor<{n}x{k}x{code_type}>", f"tensor<{n}x{ng}x{scale}>"]
    names = ["%q", "%s"]
    zuse = ""
    if zero_type:
        types.append(f"tensor<{n}x{ng}x{zero_type}>")
        names.append("%z")
        zuse = f" zeros %z : tensor<{n}x{ng}x{zero_type}>"
    return f"""
func.func @qdq(%w: tensor<{n}x{k}xf32>) -> (tensor<{n}x{k}xf32>, {", ".join(types)}) {{
  {", ".join(names)} = tessera.quantize %w group_size {group} : tensor<{n}x{k}xf32> -> {", ".join(types)}
  %d = tessera.dequantize %q : {types[0]} scales %s : {types[1]}{zuse} group_size {group} -> tensor<{n}x{k}xf32>
  return %d, {", ".join(names)} : tensor<{n}x{k}xf32>, {", ".join(types)}
}}"""


INT_SCHEMES = (
    [(b, True, "none") for b in range(2, 9)]
    + [(b, s, "int") for b, s in INT_TYPES]
    + [(b, s, "float") for b, s in INT_TYPES])


def random_weights(rng, n, k):
    w = rng.standard_normal((n, k)) * rng.uniform(0.1, 3.0, size=(n, 1))
    w += rng.uniform(-1, 1, size=(n, 1)) * (rng.random((n, 1)) < 0.3)  # offsets
    w[0, :16] = 0.0  # an all-zero group (scale 0)
    return w.astype(np.float32)


@pytest.mark.parametrize("scale", ["f32", "f16"])
@pytest.mark.parametrize("bits,signed,mode", INT_SCHEMES,
                         ids=[f"{int_name(b, s)}-{m}" for b, s, m in INT_SCHEMES])
def test_quantize_integer_codes(run, bits, signed, mode, scale):
    rng = np.random.default_rng()
    n, k, group = 6, 96, 16
    code_type = int_name(bits, signed)
    zero_type = {"none": None, "int": code_type, "float": scale}[mode]
    w = random_weights(rng, n, k)
    outs = run(quantize_module(n, k, group, code_type, scale, zero_type), "qdq",
               [w], num_results=4 if zero_type else 3)
    deq, q_packed, s = outs[:3]
    zeros_spec = None if mode == "none" else (
        ("int", bits, signed) if mode == "int" else ("float", NP[scale]))
    want_q, want_s, want_z = ref.quantize(w, group, ("int", bits, signed),
                                          NP[scale], zeros_spec)
    assert np.array_equal(ref.unpack(q_packed, (n, k), bits, signed), want_q)
    assert np.array_equal(s.astype(np.float64), want_s.astype(np.float64))
    if mode == "int":
        assert np.array_equal(ref.unpack(outs[3], want_z.shape, bits, signed), want_z)
    elif mode == "float":
        assert np.array_equal(outs[3].astype(np.float64), want_z.astype(np.float64))
    # Within half a step of the stored scale, plus what rounding the scale
    # (and offset) to its stored type moved the ends of the range: L times
    # the scale's rounding error.
    step = np.repeat(s.astype(np.float64), group, axis=1)
    lo_q, hi_q = ref.code_range(bits, signed)
    _, exact_s, _ = ref.quantize(w, group, ("int", bits, signed), np.float32,
                                 zeros_spec)
    rounding = np.abs(exact_s.astype(np.float64) - s.astype(np.float64))
    slack = 1e-6 * (np.abs(w) + step)
    slack += np.repeat(rounding * (hi_q - lo_q), group, axis=1)
    if mode == "float":
        lo = w.reshape(n, k // group, group).min(axis=2)
        slack += np.repeat(np.abs(outs[3].astype(np.float64) - lo), group, axis=1)
    assert np.all(np.abs(deq - w) <= step / 2 + slack)


@pytest.mark.parametrize("scale", ["f32", "f16"])
@pytest.mark.parametrize("name,em", FLOAT_TYPES, ids=[t for t, _ in FLOAT_TYPES])
def test_quantize_float_codes(run, name, em, scale):
    rng = np.random.default_rng()
    e, m = em
    n, k, group = 4, 64, 32
    w = random_weights(rng, n, k)
    # Group 1 holds the format's own values and the midpoints between them,
    # scaled by exactly 1: ties, the largest value and saturation are hit.
    table = ref.float_table(e, m)
    finite = np.unique(table[np.isfinite(table)])
    picks = np.concatenate([finite, (finite[1:] + finite[:-1]) / 2])
    picks = rng.choice(picks, size=group - 1)
    w[1, :group] = np.concatenate([[finite.max()], picks]).astype(np.float32)
    deq, q_packed, s = run(quantize_module(n, k, group, name, scale, None), "qdq",
                           [w], num_results=3)
    want_q, want_s, _ = ref.quantize(w, group, ("float", e, m), NP[scale])
    got_q = ref.unpack(q_packed, (n, k), 1 + e + m, False)
    assert np.array_equal(s.astype(np.float64), want_s.astype(np.float64))
    assert np.array_equal(got_q, want_q)
    want_deq = np.repeat(s.astype(np.float64), group, axis=1) * table[want_q]
    assert np.allclose(deq, want_deq, rtol=2 ** -23, atol=0)


# --- mpmm with float weights -----------------------------------------------------

def mpmm_module(n, k, wtype, group, scale, zero_type):
    ng = k // group
    zarg = f", %z: tensor<{n}x{ng}x{zero_type}>" if zero_type else ""
    zuse = f" zeros %z : tensor<{n}x{ng}x{zero_type}>" if zero_type else ""
    return f"""
func.func @mm(%x: tensor<?x{k}xf32>, %w: tensor<{n}x{k}x{wtype}>, %s: tensor<{n}x{ng}x{scale}>{zarg}) -> tensor<?x{n}xf32> {{
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x{k}xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x{n}xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x{n}xf32>) -> tensor<?x{n}xf32>
  %y = tessera.mpmm %x, %w : tensor<?x{k}xf32>, tensor<{n}x{k}x{wtype}> scales %s : tensor<{n}x{ng}x{scale}>{zuse} group_size {group} outs %i : tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}"""


FLOAT_MPMM = [(name, em, zero, group) for name, em in FLOAT_TYPES
              for zero in ("none", "float") for group in (32, 128, 256)]


@pytest.mark.parametrize("name,em,zero,group", matrix_params(FLOAT_MPMM, lambda c: c[0]),
                         ids=[f"{t}-{z}-g{g}" for t, _, z, g in FLOAT_MPMM])
def test_mpmm_float_weights(run, name, em, zero, group):
    rng = np.random.default_rng()
    e, m = em
    n, k = 11, 256
    table = ref.float_table(e, m)
    finite_codes = np.flatnonzero(np.isfinite(table))
    codes = rng.choice(finite_codes, size=(n, k))
    scale = "f16" if group == 128 else "f32"
    s = rng.uniform(0.1, 1.0, size=(n, k // group)).astype(NP[scale])
    inputs = [None, ref.pack(codes, 1 + e + m), s]
    z = None
    if zero == "float":
        z = rng.standard_normal((n, k // group)).astype(NP[scale])
        inputs.append(z)
    module = mpmm_module(n, k, name, group, scale, scale if z is not None else None)
    for mm in (1, 3, 64):
        x = rng.standard_normal((mm, k)).astype(np.float32)
        inputs[0] = x
        y = run(module, "mm", inputs)
        want = ref.mpmm(x, codes, s, group, z, zero, float_format=(e, m))
        bound = ref.mpmm_error_bound(x, codes, s, group, z, zero, float_format=(e, m))
        assert np.all(np.abs(y - want) <= bound), (mm, np.max(np.abs(y - want) - bound))


# --- lookup and pack/unpack ---------------------------------------------------------

@pytest.mark.parametrize("bits,dtype", [(2, "f32"), (4, "f16"), (8, "f32")])
def test_lookup(run, bits, dtype):
    rng = np.random.default_rng()
    n = 1 << bits
    table = rng.standard_normal(n).astype(NP[dtype])
    idx = rng.integers(0, n, size=(3, 13))
    module = f"""
func.func @lk(%t: tensor<{n}x{dtype}>, %i: tensor<3x13xui{bits}>) -> tensor<3x13x{dtype}> {{
  %v = tessera.lookup %t[%i] : tensor<{n}x{dtype}>, tensor<3x13xui{bits}> -> tensor<3x13x{dtype}>
  return %v : tensor<3x13x{dtype}>
}}"""
    got = run(module, "lk", [table, ref.pack(idx, bits)])
    assert np.array_equal(got, ref.lookup(table, idx))


def test_lookup_signless_indices(run):
    rng = np.random.default_rng()
    table = rng.standard_normal(100).astype(np.float32)
    idx = rng.integers(0, 100, size=(7,)).astype(np.int32)
    module = """
func.func @lk(%t: tensor<100xf32>, %i: tensor<7xi32>) -> tensor<7xf32> {
  %v = tessera.lookup %t[%i] : tensor<100xf32>, tensor<7xi32> -> tensor<7xf32>
  return %v : tensor<7xf32>
}"""
    assert np.array_equal(run(module, "lk", [table, idx]), table[idx])


PACK_TYPES = ([int_name(b, s) for b, s in INT_TYPES]
              + [t for t, _ in FLOAT_TYPES[::4]])


@pytest.mark.parametrize("code_type", PACK_TYPES)
def test_pack_unpack_round_trip(run, code_type):
    """unpack -> pack is the identity on canonical storage (5 x 7 codes: rows
    end mid-byte); padding bits of the input are ignored and come out 0."""
    rng = np.random.default_rng()
    bits = (int(code_type[2:]) if code_type[0] in "su"
            else {t: 1 + e + m for t, (e, m) in FLOAT_TYPES}[code_type])
    codes = rng.integers(0, 1 << bits, size=(5, 7))
    packed = ref.pack(codes, bits)
    nbytes = packed.size
    used = (35 * bits) % 8
    dirty = packed.copy()
    if used:
        dirty[-1] |= np.uint8((0xFF << used) & 0xFF)  # garbage padding
    module = f"""
func.func @rt(%w: tensor<5x7x{code_type}>) -> tensor<5x7x{code_type}> {{
  %p = tessera.pack %w : tensor<5x7x{code_type}> -> tensor<{nbytes}xi8>
  %u = tessera.unpack %p : tensor<{nbytes}xi8> -> tensor<5x7x{code_type}>
  return %u : tensor<5x7x{code_type}>
}}"""
    got = run(module, "rt", [dirty])
    assert np.array_equal(got.view(np.uint8), packed)


LAYOUTS = [  # (shape, tile, bit_planes): rows and planes of odd lengths
    ((5, 7), None, True), ((6, 20), [2, 4], False), ((6, 20), [3, 10], True),
    ((8, 64), [4, 32], True),
]


@pytest.mark.parametrize("shape,tile,planes", LAYOUTS,
                         ids=[f"{s[0]}x{s[1]}-{t}-{'planes' if p else 'dense'}"
                              for s, t, p in LAYOUTS])
@pytest.mark.parametrize("bits", range(1, 9))
@pytest.mark.parametrize("signed", [False, True])
def test_layouts(run, shape, bits, tile, planes, signed):
    """Canonical -> logical -> layout and back, against the reference
    layout packer; rows and planes need not end on a byte boundary."""
    rng = np.random.default_rng()
    lo, hi = ref.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=shape)
    canonical = ref.pack(codes, bits)
    in_layout = ref.pack_layout(codes, bits, tile, planes)
    attr = []
    if tile:
        attr.append(f"tile = [{', '.join(map(str, tile))}]")
    if planes:
        attr.append("bit_planes")
    layout = f"layout <{', '.join(attr)}>"
    t = f"tensor<{shape[0]}x{shape[1]}x{int_name(bits, signed)}>"
    module = f"""
func.func @to_layout(%w: {t}) -> tensor<{in_layout.size}xi8> {{
  %p = tessera.pack %w {layout} : {t} -> tensor<{in_layout.size}xi8>
  return %p : tensor<{in_layout.size}xi8>
}}
func.func @from_layout(%b: tensor<{in_layout.size}xi8>) -> {t} {{
  %w = tessera.unpack %b {layout} : tensor<{in_layout.size}xi8> -> {t}
  return %w : {t}
}}"""
    got_layout = run(module, "to_layout", [canonical])
    assert np.array_equal(got_layout.view(np.uint8), in_layout)
    got_canonical = run(module, "from_layout", [in_layout])
    assert np.array_equal(got_canonical.view(np.uint8), canonical)
