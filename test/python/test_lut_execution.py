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
import mmap
import re

import numpy as np
import pytest

import tessera as ts
from matrices import matrix_params
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
              scale_dtype="f32", **compile_options):
    """Checks the LUT strategy on one shape; returns the compiled function.
    compile_options (output, cpu) go to ts.compile."""
    zero_type = int_type(bits, signed) if zero_mode == "int" else scale_dtype
    f = ts.compile(mpmm_module(n, k, bits, signed, zero_mode, group, scale_dtype, zero_type),
                   strategy=strategy, **compile_options)
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
    return f


@pytest.mark.parametrize("bits,signed,zero_mode,strategy", matrix_params(MATRIX, lambda c: c[0]),
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


@pytest.mark.parametrize("bits,signed,zero_mode,scale_dtype", [
    (1, False, "int", "f16"), (1, True, "float", "f16"), (2, False, "float", "f16"),
    (2, True, "int", "f16"), (2, False, "int", "f32"), (3, False, "int", "f16"),
    (3, True, "float", "f16"), (3, True, "int", "f32"), (4, False, "int", "f16"),
    (4, True, "none", "f16"), (5, False, "float", "f16"), (5, True, "int", "f16"),
    (6, True, "int", "f16"), (7, False, "int", "f16"), (8, False, "int", "f16"),
    (8, True, "none", "f32")])
def test_lut_one_row_coefficients_per_eight_groups(bits, signed, zero_mode, scale_dtype):
    # One row of x: the combine's coefficients computed per 8 groups for a
    # step of blocks (K = 1024, groups of 32: four rounds of 8 groups;
    # N = 320: steps of four or two blocks, then a single block). With byte
    # permutes (this host, if it has AVX512-VBMI and -VNNI), 16 rows at a
    # time: each row's 8 zero codes read as one word (24 bits at 3 bits, a
    # 64-bit lane from 5 bits on) and sign-extended for signed codes.
    check_lut(np.random.default_rng(), 320, 1024, bits, signed, zero_mode, 32, "lut",
              m_values=(1,), scale_dtype=scale_dtype)


def host_has(*features):
    try:
        flags = open("/proc/cpuinfo").read().split()
    except OSError:
        return False
    return all(f in flags for f in features)


def host_kernel_tile():
    if host_has("avx512vbmi", "avx512_vnni"):
        return (64, 32)
    return (64, 8) if host_has("avx512bw") else (32, 8) if host_has("avx2") else None


@pytest.mark.parametrize("k", [512, 1216])
@pytest.mark.parametrize("bits", range(1, 9))
@pytest.mark.parametrize("target", ["x86-64-v3", "x86-64-v4", "host"])
def test_lut_kernel_of_each_target(tmp_path, monkeypatch, target, bits, k):
    # Each LUT kernel that can run here, by the target the library is built
    # for: 32-byte shuffles (AVX2: tiles of 32 x 8), 64-byte shuffles
    # (AVX-512BW: 64 x 8) and, on a host with AVX512-VBMI and -VNNI, 64-byte
    # permutes with byte dot products (64 x 32). N = 320: a column tile of
    # 256 rows (steps of two or four blocks) and one of 64; K in groups of
    # 64: 8 groups (K = 512), whose coefficients a one-row step computes
    # ahead, or 19 (K = 1216): two batches of 8, the second computed during
    # the first's lookups, and 3 gathered; runs of zero points off bytes
    # where their width is odd.
    needs, tile = {"x86-64-v3": (("avx2",), (32, 8)), "x86-64-v4": (("avx512bw",), (64, 8)),
                   "host": ((), host_kernel_tile())}[target]
    if not host_has(*needs) or tile is None:
        pytest.skip(f"this machine cannot run the {target} LUT kernel")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    n, group = 320, 64
    zero = ("none", "int", "float")[bits % 3]
    dtype = f"{'s' if bits % 2 == 0 or zero == 'none' else 'u'}{bits}"  # none: symmetric
    q = ts.quantize(rng.standard_normal((n, k)).astype(np.float32), dtype, group, zero=zero,
                    scale_dtype="f16")
    g = ts.Graph("lut")
    x = g.input("x", ("M", k))
    g.output(g.mpmm(x, q, name="w"))
    f = ts.compile(g, output=str(tmp_path / "liblut.so"), cpu=target, strategy="lut")
    layout = {s["name"]: s for s in f.inputs}["w.codes"]["layout"]
    assert f"tile = [{tile[0]}, {tile[1]}], bit_planes" in layout
    for m in (1, 3, 64):
        xv = rng.standard_normal((m, k)).astype(np.float32)
        err = np.abs(f(xv).astype(np.float64) - graph_reference(xv, q))
        assert (err <= graph_bound(xv, q, bits)).all(), f"M={m}"


ONE_ROW_REST = [(bits, signed, "int") for bits in range(1, 9) for signed in (False, True)] + [
    (1, False, "float"), (3, True, "none"), (6, False, "float")]


@pytest.mark.parametrize("bits,signed,zero_mode", ONE_ROW_REST,
                         ids=[f"{int_type(b, s)}-{z}" for b, s, z in ONE_ROW_REST])
def test_lut_groups_past_the_last_run_of_eight(bits, signed, zero_mode):
    # 11 groups of 32 (K = 352, as 86 of 128 at K = 11008): one row of x
    # has the coefficients of groups 0-7 computed ahead and those of 8-10
    # gathered; a row of zero points takes 11 b bits, so at odd widths its
    # runs of 8 start off bytes. M = 3: the tile's coefficients, runs of 8
    # then one at a time. N = 320: steps of four (from 3 bits) or two
    # blocks, then one.
    check_lut(np.random.default_rng(), 320, 352, bits, signed, zero_mode, 32, "lut",
              m_values=(1, 3), scale_dtype="f16")


@pytest.mark.parametrize("bits,signed,zero_mode", [(2, False, "int"), (3, True, "none"),
                                                   (4, False, "float")])
def test_lut_groups_not_a_multiple_of_32(bits, signed, zero_mode):
    # Groups of 24: the byte-permute kernel's step of 32 codes does not fit,
    # so its hosts keep the shuffle kernel's tiles of 64 x 8.
    f = check_lut(np.random.default_rng(), 128, 192, bits, signed, zero_mode, 24, "lut",
                  m_values=(1, 5))
    if host_has("avx512bw"):
        assert "tile = [64, 8], bit_planes" in f.inputs[1]["layout"]


@pytest.mark.parametrize("signed", [False, True], ids=["u8", "s8"])
@pytest.mark.parametrize("group", [32, 64, 128, 256, 1024])
def test_lut_accumulators_at_their_limit(group, signed):
    # The shuffle kernel's bit planes share i16 accumulators, as many per
    # accumulator as its group allows (docs/lut.md). With every activation
    # equal, a run's table entries are +-127 exactly. Unsigned codes 255
    # look up +127 in every plane and codes 0 -127; signed codes -128 look
    # up -127 in every plane, the top one (complemented nibbles) included.
    # So each accumulator reaches the largest sum its group permits, in
    # both directions: one plane too many would wrap an i16 and miss the
    # reference by far. 8 bits fill every plane set; N = 64 takes the vector
    # kernel on an AVX2 host; K = 8 groups: the one-row path computes its
    # coefficients ahead.
    n, k, bits = 64, 8 * group, 8
    f = ts.compile(mpmm_module(n, k, bits, signed, "none", group, "f32", None), strategy="lut")
    codes = np.empty((n, k), dtype=np.int64)
    codes[0::2] = -1 if signed else 255
    codes[1::2] = 0
    if signed:
        codes[1::4] = -128  # -1 and 0 mix signs within a set; -128 does not
    scales = np.ones((n, k // group), dtype=np.float32)
    for m, value in ((1, 0.5), (3, 1.25)):
        x = np.full((m, k), value, dtype=np.float32)
        want = reference.mpmm(x, codes, scales, group)
        err = np.abs(f(x, reference.pack(codes, bits), scales).astype(np.float64) - want)
        bound = reference.lut_error_bound(x, codes, scales, group, bits)
        assert (err <= bound).all(), f"M={m}: worst error {err.max():.3g}"


def tables_module(k, group):
    """A function returning tessera.lut_tables of its argument (M x k)."""
    types = [f"tensor<?x{k // 4}x16xi8>", f"tensor<?x{k // group}xf32>",
             f"tensor<?x{k // group}xf32>"]
    dims = ['{tessera.dims = ["M", "", ""]}', '{tessera.dims = ["M", ""]}',
            '{tessera.dims = ["M", ""]}']
    results = ", ".join(f"{t} {d}" for t, d in zip(types, dims))
    shapes = ", ".join(types)
    return (f"func.func @tables(%x: tensor<?x{k}xf32> {dims[1]}) -> ({results}) {{\n"
            f"  %t, %ts, %s = tessera.lut_tables %x group_size {group} : "
            f"tensor<?x{k}xf32> -> {shapes}\n"
            f"  return %t, %ts, %s : {shapes}\n}}")


@pytest.mark.parametrize("target", ["x86-64", "x86-64-v3", "host"])
@pytest.mark.parametrize("k,group", [(96, 16), (96, 48), (256, 32), (512, 128)])
def test_lut_tables_exact(tmp_path, target, k, group):
    # The int8 tables, their scales and the sums of tessera.lut_tables as
    # compiled (the vector lowering: groups of a multiple of 16) against
    # reference.lut_tables: tables and scales bit for bit. Fresh activations
    # of mixed magnitudes, one group all zeros (scale 0, tables 0) and one
    # holding a single nonzero activation (entries +-127 exactly).
    if target == "x86-64-v3" and not host_has("avx2"):
        pytest.skip("host without AVX2")
    f = ts.compile(tables_module(k, group), output=tmp_path / "libtables.so", cpu=target)
    rng = np.random.default_rng()
    for m in (1, 3):
        x = (rng.standard_normal((m, k)) *
             np.exp2(rng.integers(-8, 9, size=(m, k)))).astype(np.float32)
        x[0, :group] = 0
        x[-1, group:2 * group] = 0
        x[-1, group + 5] = -3.0
        tables, scales, sums = f(x)
        want_tables, want_scales, want_sums = reference.lut_tables(x, group)
        assert tables.shape == (m, k // 4, 16) and tables.dtype == np.int8
        differ = np.argwhere(tables != want_tables)
        assert differ.size == 0, f"M={m}: {len(differ)} entries differ, first at {differ[0]}"
        np.testing.assert_array_equal(scales, want_scales)
        assert (np.abs(sums - want_sums) <=
                1e-6 * np.abs(x).reshape(m, -1, group).sum(axis=2)).all()
        assert not tables[0, :group // 4].any() and scales[0, 0] == 0
        run = (group + 5) // 4  # x1 = -3, alone in its group: entries -+127
        want_run = [127 if p & 2 == 0 else -127 for p in range(16)]
        assert tables[-1, run].tolist() == want_run, tables[-1, run]


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


# --- Prepacked weights -------------------------------------------------------

def lut_graph(rng, n=128, k=256, bits=2, constant=False):
    w = rng.standard_normal((n, k)).astype(np.float32)
    q = ts.quantize(w, f"u{bits}", 64, scale_dtype="f16")
    g = ts.Graph("lin")
    x = g.input("x", ("M", k))
    g.output(g.mpmm(x, q, constant=constant, name="w"))
    return g, q


def graph_reference(x, q):
    return reference.mpmm(x, q.codes, q.scales, q.group_size, q.zeros, q.zero_mode)


def graph_bound(x, q, bits):
    return reference.lut_error_bound(x, q.codes, q.scales, q.group_size, bits, q.zeros,
                                     q.zero_mode)


@pytest.mark.parametrize("aot", [False, True])
def test_graph_weights_are_prepacked_once(tmp_path, aot):
    # Bound weights reach the LUT kernel in its bit-plane layout, converted
    # once by the module's prepack function; results match the reference.
    rng = np.random.default_rng()
    g, q = lut_graph(rng)
    f = ts.compile(g, strategy="lut", output=str(tmp_path / "liblin.so") if aot else None)
    spec = {s["name"]: s for s in f.inputs}["w.codes"]
    if ts.num_threads() and "bit_planes" not in spec["layout"]:
        pytest.skip("no byte shuffles on this host: canonical weights")
    assert spec["prepack"] == "prepack_lin_w_codes"
    x = rng.standard_normal((3, 256)).astype(np.float32)
    err = np.abs(f(x) - graph_reference(x, q))
    assert (err <= graph_bound(x, q, 2)).all()


def test_large_prepacked_weights_start_on_a_huge_page():
    # Prepacked weights of 2 MiB or more are copied to memory aligned to
    # 2 MiB and advised MADV_HUGEPAGE (where Linux has it); smaller ones
    # stay where the prepack function put them. Results are unchanged.
    rng = np.random.default_rng()
    n, k, group = 1024, 8192, 128  # 1024 x 8192 2-bit codes: 2 MiB prepacked
    text = mpmm_module(n, k, 2, False, "int", group, "f16", "ui2")
    f = ts.compile(text, strategy="lut")
    if "bit_planes" not in {s["name"]: s for s in f.inputs}["arg1"]["layout"]:
        pytest.skip("no byte shuffles on this host: canonical weights")
    codes = rng.integers(0, 4, size=(n, k))
    s = rng.uniform(0.5, 1.5, size=(n, k // group)).astype(np.float16)
    zeros = rng.integers(0, 4, size=(n, k // group))
    z = reference.pack(zeros, 2)
    prepacked = f.prepack("arg1", reference.pack(codes, 2))
    assert prepacked.data.nbytes == 2 << 20
    if hasattr(mmap, "MADV_HUGEPAGE"):
        assert prepacked.data.ctypes.data % (2 << 20) == 0
    x = rng.standard_normal((1, k)).astype(np.float32)
    y = f(x, prepacked, s, z)
    want = reference.mpmm(x, codes, s, group, zeros, "int")
    bound = reference.lut_error_bound(x, codes, s, group, 2, zeros, "int")
    assert (np.abs(y - want) <= bound).all()
    # Below 2 MiB an array is left as it is.
    small = np.arange(1000, dtype=np.uint8)
    assert ts.runtime._on_huge_pages(small) is small


def test_bound_parameters_share_one_huge_page_region():
    # A function's bound parameters of 2 MiB or more in all (a graph's
    # prepacked weights, scales and zero points) are copied side by side,
    # each from a 64-byte boundary, into one region aligned to 2 MiB and
    # advised MADV_HUGEPAGE (where Linux has it). Results are unchanged.
    rng = np.random.default_rng()
    n, k, group = 1024, 8192, 128
    q = ts.quantize(rng.standard_normal((n, k)).astype(np.float32), "u2", group,
                    scale_dtype="f16")
    g = ts.Graph("bound")
    x = g.input("x", ("M", k))
    g.output(g.mpmm(x, q))
    f = ts.compile(g, strategy="lut")
    params = [a.data if isinstance(a, ts.runtime.PrepackedWeights) else a for a in f._params]
    assert len(params) == 3 and sum(a.nbytes for a in params) >= 2 << 20
    if hasattr(mmap, "MADV_HUGEPAGE"):
        assert params[0].ctypes.data % (2 << 20) == 0
        for before, after in zip(params, params[1:]):
            assert after.ctypes.data == before.ctypes.data + -(-before.nbytes // 64) * 64
    xv = rng.standard_normal((3, k)).astype(np.float32)
    want = reference.mpmm(xv, q.codes, q.scales, group, q.zeros, "int")
    bound = reference.lut_error_bound(xv, q.codes, q.scales, group, 2, q.zeros, "int")
    assert (np.abs(f(xv) - want) <= bound).all()
    # Below 2 MiB in all, arrays are left as they are.
    small = [np.arange(1000, dtype=np.uint8), np.ones(10, dtype=np.float16)]
    assert all(a is b for a, b in zip(ts.runtime._together_on_huge_pages(small), small))


def test_prepack_api_and_errors():
    rng = np.random.default_rng()
    n, k, group = 64, 128, 32
    text = mpmm_module(n, k, 3, True, "float", group, "f32", "f32")
    f = ts.compile(text, strategy="lut")
    specs = {s["name"]: s for s in f.inputs}
    if "bit_planes" not in specs["arg1"]["layout"]:
        pytest.skip("no byte shuffles on this host: canonical weights")
    codes = rng.integers(-4, 4, size=(n, k))
    s = rng.uniform(0.5, 1.5, size=(n, k // group)).astype(np.float32)
    z = rng.standard_normal((n, k // group)).astype(np.float32)
    x = rng.standard_normal((2, k)).astype(np.float32)
    canonical = reference.pack(codes, 3)
    prepacked = f.prepack("arg1", canonical)
    assert isinstance(prepacked, ts.PrepackedWeights)
    # Prepacked once, or converted on the call: the same result.
    y1 = f(x, prepacked, s, z)
    y2 = f(x, canonical, s, z)
    np.testing.assert_array_equal(y1, y2)
    bound = reference.lut_error_bound(x, codes, s, group, 3, z, "float")
    assert (np.abs(y1 - reference.mpmm(x, codes, s, group, z, "float")) <= bound).all()
    # The prepacked storage is the reference packer's bit-plane layout (the
    # tile the host's kernel reads: 32 x 8 AVX2, 64 x 8 AVX-512BW, 64 x 32
    # with AVX512-VBMI and -VNNI).
    tile = tuple(int(t) for t in re.search(r"tile = \[(\d+), (\d+)\]",
                                           specs["arg1"]["layout"]).groups())
    assert tile in ((32, 8), (64, 8), (64, 32))
    np.testing.assert_array_equal(prepacked.data.view(np.uint8),
                                  reference.pack_layout(codes, 3, tile=tile, bit_planes=True))
    # N = 64: the scales and float offsets come in spans of 64 columns too.
    assert specs["arg2"]["layout"] == specs["arg3"]["layout"] == "#tessera.layout<tile = [64, 1]>"
    with pytest.raises(ValueError, match="needs no prepacking"):
        f.prepack("arg0", x)
    with pytest.raises(KeyError, match="no input 'v'"):
        f.prepack("v", canonical)
    other = ts.PrepackedWeights(prepacked.data, "mpmm", "arg0")
    with pytest.raises(TypeError, match="input 'arg1' of mpmm"):
        f(x, other, s, z)
    with pytest.raises(ValueError, match="arg1"):
        f.prepack("arg1", canonical[:-1])


def test_constant_weights_packed_at_compile_time():
    rng = np.random.default_rng()
    g, q = lut_graph(rng, constant=True)
    f = ts.compile(g, strategy="lut")
    assert [s["name"] for s in f.inputs] == ["x"]
    x = rng.standard_normal((1, 256)).astype(np.float32)
    assert (np.abs(f(x) - graph_reference(x, q)) <= graph_bound(x, q, 2)).all()


def test_header_documents_the_layout(tmp_path):
    g, _ = lut_graph(np.random.default_rng())
    header = tmp_path / "lin.h"
    ts.compile(g, strategy="lut", output=str(tmp_path / "liblin.so"), header=str(header))
    text = header.read_text()
    # Graph parameters are named like "w.codes": the header must still be C.
    import subprocess
    proc = subprocess.run(["cc", "-fsyntax-only", "-Wall", "-Werror", "-x", "c", str(header)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    if "bit_planes" in text:
        assert "convert the canonical packing once with <prefix>_prepack_lin_w_codes" in text
        assert "int32_t lin_prepack_lin_w_codes(const uint8_t *w_codes, uint8_t *w_codes_prepacked);" in text


def test_strategy_default_and_auto():
    # The default is the exact dequantize strategy, its 2-bit weights
    # interleaved by 8 rows; "auto" picks LUT for 2-bit codes (where the
    # host has byte shuffles) and dequantize where the LUT kernel cannot run
    # (N = 40, not a multiple of the shuffle width).
    text2 = mpmm_module(64, 128, 2, False, "none", 32, "f32", None)
    text40 = mpmm_module(40, 128, 2, False, "none", 32, "f32", None)
    assert ts.compile(text2).inputs[1]["layout"] == "#tessera.layout<tile = [8, 16]>"
    assert ts.compile(text40, strategy="auto").inputs[1]["layout"] == \
        "#tessera.layout<tile = [8, 16]>"
    auto2 = ts.compile(text2, strategy="auto")
    lanes = ts.compile(text2, strategy="lut").inputs[1]["layout"]
    assert auto2.inputs[1]["layout"] == lanes
    with pytest.raises(ValueError, match="strategy must be"):
        ts.compile(text2, strategy="fast")


def test_tessera_run_prepacks_weights_from_files(tessera_run, tmp_path):
    # .npy weights hold the canonical packing; tessera-run converts them
    # with the module's prepack function before calling.
    import subprocess
    rng = np.random.default_rng()
    n, k, group = 64, 128, 32
    (tmp_path / "m.mlir").write_text(mpmm_module(n, k, 2, False, "none", group, "f32", None))
    codes = rng.integers(0, 4, size=(n, k))
    s = rng.uniform(0.5, 1.5, size=(n, k // group)).astype(np.float32)
    x = rng.standard_normal((3, k)).astype(np.float32)
    for name, value in {"x": x, "w": reference.pack(codes, 2), "s": s}.items():
        np.save(tmp_path / f"{name}.npy", value)
    proc = subprocess.run([tessera_run, str(tmp_path / "m.mlir"), "-e", "mpmm", "--mpmm-strategy=lut",
                           "-i", str(tmp_path / "x.npy"), "-i", str(tmp_path / "w.npy"),
                           "-i", str(tmp_path / "s.npy"), "-o", str(tmp_path / "y.npy")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    y = np.load(tmp_path / "y.npy")
    err = np.abs(y - reference.mpmm(x, codes, s, group))
    assert (err <= reference.lut_error_bound(x, codes, s, group, 2)).all()


# --- The dequantize strategy on the LUT kernel's bit planes -------------------

PLANES = [(bits, signed, zero_mode)
          for bits, signed, zero_mode in itertools.product(
              range(1, 9), (False, True), ("none", "int", "float"))]


def bit_plane_module(n, k, bits, signed, zero_mode, group, tile):
    """mpmm_module with the weights passed in #tessera.layout<tile = [L, C],
    bit_planes> (and the prepack function the ABI then needs)."""
    wt = int_type(bits, signed)
    zero_type = wt if zero_mode == "int" else "f32"
    layout = f"#tessera.layout<tile = [{tile[0]}, {tile[1]}], bit_planes>"
    weights = f"%w: tensor<{n}x{k}x{wt}>"
    text = mpmm_module(n, k, bits, signed, zero_mode, group, "f32", zero_type)
    text = text.replace(weights, f"{weights} {{tessera.layout = {layout}}}")
    return text + f"""
func.func @prepack_mpmm_arg1({weights}) -> (tensor<{n}x{k}x{wt}> {{tessera.layout = {layout}}}) {{
  return %w : tensor<{n}x{k}x{wt}>
}}
"""


def check_bit_plane_mpmm(rng, f, n, k, bits, signed, zero_mode, group, m_values):
    """Runs f (a bit_plane_module compiled for the dequantize strategy) on
    fresh random codes, scales (of both signs) and zero points, for each M
    in m_values; checks it exact to f32 rounding against the reference."""
    lo, hi = reference.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=(n, k))
    ng = k // group
    scales = (rng.uniform(0.25, 2.0, size=(n, ng)) *
              rng.choice([-1, 1], size=(n, ng))).astype(np.float32)
    args = [f.prepack("arg1", reference.pack(codes, bits)), scales]
    zeros = None
    if zero_mode == "int":
        zeros = rng.integers(lo, hi + 1, size=(n, ng))
        args.append(reference.pack(zeros, bits))
    elif zero_mode == "float":
        zeros = rng.standard_normal((n, ng)).astype(np.float32)
        args.append(zeros)
    for m in m_values:
        x = rng.standard_normal((m, k)).astype(np.float32)
        y = f(x, *args)
        want = reference.mpmm(x, codes, scales, group, zeros, zero_mode)
        bound = reference.mpmm_error_bound(x, codes, scales, group, zeros, zero_mode)
        err = np.abs(y.astype(np.float64) - want)
        worst = np.unravel_index(np.argmax(err - bound), err.shape)
        assert (err <= bound).all(), (
            f"M={m}: |y - ref| = {err[worst]:.3g} > bound {bound[worst]:.3g} at {worst}")


@pytest.mark.parametrize("bits,signed,zero_mode", matrix_params(PLANES, lambda c: c[0]),
                         ids=[f"{int_type(b, s)}-{z}" for b, s, z in PLANES])
def test_dequantize_reads_bit_planes(bits, signed, zero_mode):
    # The dequantize kernel reading bit planes (how a run-time choice of
    # strategy keeps one copy of the weights): N = 320 is one full column
    # tile (the GEMM from 16 rows) and a partial one; K = 384 is a full and a
    # partial panel; M = 1, 5 and 13 take the row paths, 37 and 70 the GEMM
    # with a partial register block, 64 only full ones. Exact up to f32
    # rounding, for every width, signedness and zero mode, the LUT kernels'
    # tiles (32 x 8, 64 x 8 and the permute kernel's 64 x 32), groups of 32,
    # 64 and 128.
    case = PLANES.index((bits, signed, zero_mode))
    rng = np.random.default_rng()
    n, k, group = 320, 384, GROUPS[case % 3]
    tile = ((32, 8), (64, 8), (64, 32))[case // 2 % 3]
    f = ts.compile(bit_plane_module(n, k, bits, signed, zero_mode, group, tile),
                   strategy="dequantize")
    assert "bit_planes" in f.inputs[1]["layout"]
    check_bit_plane_mpmm(rng, f, n, k, bits, signed, zero_mode, group, (1, 5, 13, 37, 64, 70))


@pytest.mark.parametrize("bits,signed,zero_mode,tile", [
    (7, True, "int", (64, 32)), (6, False, "float", (64, 32)), (3, True, "none", (64, 32)),
    (8, False, "int", (32, 8))])
@pytest.mark.parametrize("target", ["x86-64", "x86-64-v3"])
def test_dequantize_reads_bit_planes_on_each_target(tmp_path, target, bits, signed, zero_mode,
                                                   tile):
    # The bit-plane readers (the 4-byte words of tiles of 64 x 32, the
    # transposed panel from 5 bits on) compiled for SSE2 and for AVX2, where
    # the i64 lanes of the transpose span two registers (or four): M = 1 and
    # 7 take the row kernels, 20 and 37 the GEMM. Exact to f32 rounding.
    if target == "x86-64-v3" and not host_has("avx2", "fma"):
        pytest.skip("this machine cannot run AVX2 code")
    rng = np.random.default_rng()
    n, k, group = 128, 256, 64
    # Built ahead of time for the target (the JIT compiles for the host),
    # with x's and y's first dimension named so that the library sizes y.
    named = '{tessera.dims = ["M", ""]}'
    text = bit_plane_module(n, k, bits, signed, zero_mode, group, tile).replace(
        f"%x: tensor<?x{k}xf32>", f"%x: tensor<?x{k}xf32> {named}").replace(
        f") -> tensor<?x{n}xf32> {{", f") -> (tensor<?x{n}xf32> {named}) {{")
    f = ts.compile(text, strategy="dequantize", cpu=target, cache=False,
                   output=tmp_path / f"libplanes_{target}.so")
    check_bit_plane_mpmm(rng, f, n, k, bits, signed, zero_mode, group, (1, 7, 20, 37))


@pytest.mark.parametrize("bits,signed,zero_mode,group", [
    (8, False, "int", 128), (7, True, "float", 64), (7, False, "int", 32)])
def test_auto_chooses_the_strategy_by_rows_at_run_time(bits, signed, zero_mode, group):
    # Codes wider than lut-max-bits with M known only at run time: LUT (int8
    # tables: within their bound, not exact) up to 8 rows (8 bits) or 16 (7
    # bits), dequantize (exact to f32 rounding) above, on one prepacked copy
    # of the weights (with AVX512-VBMI, the permute kernel's tiles of
    # 64 x 32). M = limit + 1 takes the dequantize row kernel, 17 and 203 its
    # GEMM. Where the dequantize kernel reads the weights interleaved (8
    # bits, N a multiple of 8; with AVX512-VBMI and VNNI, 7 bits in tiles of
    # 16 x 4), dequantize at every M instead (no run-time choice).
    rng = np.random.default_rng()
    n, k = 256, 512
    wt = int_type(bits, signed)
    text = mpmm_module(n, k, bits, signed, zero_mode, group, "f32",
                       wt if zero_mode == "int" else "f32")
    f = ts.compile(text, strategy="auto")
    layout = f.inputs[1]["layout"]
    interleaved = {8: "#tessera.layout<tile = [8, 4]>"}
    if host_has("avx512vbmi", "avx512_vnni", "avx512vl"):
        interleaved[7] = "#tessera.layout<tile = [16, 4]>"
    dequantize_only = bits in interleaved
    if dequantize_only:
        assert layout == interleaved[bits]
    elif "bit_planes" not in layout:
        pytest.skip("no byte shuffles on this host: no LUT kernel")
    elif host_has("avx512vbmi", "avx512_vnni"):
        assert layout == "#tessera.layout<tile = [64, 32], bit_planes>"
    limit = 0 if dequantize_only else 8 if bits == 8 else 16
    lo, hi = reference.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=(n, k))
    scales = (rng.uniform(0.25, 2.0, size=(n, k // group)) *
              rng.choice([-1, 1], size=(n, k // group))).astype(np.float32)
    args = [f.prepack("arg1", reference.pack(codes, bits)), scales]
    if zero_mode == "int":
        zeros = rng.integers(lo, hi + 1, size=(n, k // group))
        args.append(reference.pack(zeros, bits))
    else:
        zeros = rng.standard_normal((n, k // group)).astype(np.float32)
        args.append(zeros)
    for m in (1, 3, 17, 203) if dequantize_only else (3, limit, limit + 1, 17, 203):
        x = rng.standard_normal((m, k)).astype(np.float32)
        y = f(x, *args).astype(np.float64)
        want = reference.mpmm(x, codes, scales, group, zeros, zero_mode)
        exact = reference.mpmm_error_bound(x, codes, scales, group, zeros, zero_mode)
        err = np.abs(y - want)
        if m <= limit:
            assert (err <= reference.lut_error_bound(x, codes, scales, group, bits, zeros,
                                                     zero_mode)).all()
            assert not (err <= exact).all(), f"M={m}: exact, so not the LUT kernel"
        else:
            assert (err <= exact).all(), f"M={m}: not exact, so not the dequantize kernel"


# --- Codebook weights (NF4, learned tables) ----------------------------------

NF4 = np.array([-1.0, -0.6961928, -0.5250731, -0.3949175, -0.2844414, -0.1848449,
                -0.0910500, 0.0, 0.0795803, 0.1609302, 0.2461123, 0.3379152, 0.4407098,
                0.5626170, 0.7229568, 1.0], dtype=np.float32)


@pytest.mark.parametrize("bits,n,zero_mode,strategy", [
    (4, 64, "none", "lut"), (4, 64, "float", "lut"), (4, 64, "int", "lut"),
    (4, 64, "none", "lut_f32"), (4, 40, "none", "lut"), (3, 64, "float", "lut"),
    (2, 64, "int", "lut_f32")])
def test_lut_codebook(bits, n, zero_mode, strategy):
    # 4-bit codes with N = 64 take the vector kernel (per-activation tables,
    # two codes per byte); N = 40 and 2-3 bit codebooks the reference lowering.
    rng = np.random.default_rng()
    k, group = 256, 64
    zero_type = f"ui{bits}" if zero_mode == "int" else "f32"
    text = mpmm_module(n, k, bits, False, zero_mode, group, "f32", zero_type, codebook="f32")
    f = ts.compile(text, strategy=strategy)
    codes = rng.integers(0, 1 << bits, size=(n, k))
    table = NF4[:1 << bits] if bits == 4 else rng.standard_normal(1 << bits).astype(np.float32)
    s = rng.uniform(0.5, 1.5, size=(n, k // group)).astype(np.float32)
    args = [reference.pack(codes, bits), s]
    zeros = None
    if zero_mode == "int":
        zeros = rng.integers(0, 1 << bits, size=(n, k // group))
        args.append(reference.pack(zeros, bits))
    elif zero_mode == "float":
        zeros = rng.standard_normal((n, k // group)).astype(np.float32)
        args.append(zeros)
    args.append(table)
    for m in (1, 3, 64):
        x = rng.standard_normal((m, k)).astype(np.float32)
        y = f(x, *args)
        want = reference.mpmm(x, codes, s, group, zeros, zero_mode, table)
        bound = reference.lut_error_bound(x, codes, s, group, bits, zeros, zero_mode,
                                          int8_tables=strategy == "lut", codebook=table)
        err = np.abs(y - want)
        assert (err <= bound).all(), f"M={m}: max err {err.max()}, bound {bound.min()}"
    if bits == 4 and n == 64 and strategy == "lut":
        layout = {s["name"]: s for s in f.inputs}["arg1"]["layout"]
        assert layout in ("", "#tessera.layout<tile = [32, 2]>", "#tessera.layout<tile = [64, 2]>")
