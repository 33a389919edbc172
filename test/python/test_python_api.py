"""The tessera package: graph builder ops against numpy, quantization
helpers, importers against hand-built blocks, JIT and AOT parity, dynamic
shapes, the cache, and every error path."""

import os
import pathlib
import struct
import subprocess

import numpy as np
import pytest

import tessera as ts
from tessera import importers
from tessera import reference as ref


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# --- builder ops -------------------------------------------------------------

OPS = {
    "add": (lambda g, a, b: a + b, lambda a, b: a + b),
    "sub": (lambda g, a, b: a - b, lambda a, b: a - b),
    "mul": (lambda g, a, b: a * b, lambda a, b: a * b),
    "div": (lambda g, a, b: a / (g.relu(b) + 1.0), lambda a, b: a / (np.maximum(b, 0) + 1)),
    "relu": (lambda g, a, b: g.relu(a), lambda a, b: ref.relu(a)),
    "silu": (lambda g, a, b: g.silu(a), lambda a, b: ref.silu(a)),
    "gelu": (lambda g, a, b: g.gelu(a), lambda a, b: ref.gelu(a)),
    "tanh": (lambda g, a, b: g.tanh(a), lambda a, b: np.tanh(a)),
    "sigmoid": (lambda g, a, b: g.sigmoid(a), lambda a, b: ref.sigmoid(a)),
    "softmax": (lambda g, a, b: g.softmax(a), lambda a, b: ref.softmax(a)),
    "rmsnorm": (lambda g, a, b: g.rmsnorm(a, np.arange(1, 13, dtype=np.float32)),
                lambda a, b: ref.rmsnorm(a, np.arange(1, 13))),
    "layernorm": (lambda g, a, b: g.layernorm(a, np.full(12, 2, np.float32), np.ones(12, np.float32)),
                  lambda a, b: ref.layernorm(a, 2.0, 1.0)),
    "bias": (lambda g, a, b: a + np.arange(12, dtype=np.float32), lambda a, b: a + np.arange(12)),
    "scalar": (lambda g, a, b: 2.0 * a - 1.0, lambda a, b: 2 * a - 1),
    "matmul": (lambda g, a, b: g.matmul(a, np.eye(12, 5, dtype=np.float32) * 3),
               lambda a, b: a @ (np.eye(12, 5) * 3)),
    "transpose": (lambda g, a, b: g.transpose(a, [1, 0]), lambda a, b: a.T),
    "reshape": (lambda g, a, b: g.reshape(a, ("M", 3, 4)), lambda a, b: a.reshape(-1, 3, 4)),
    "concat": (lambda g, a, b: g.concat([a, b, a], axis=1), lambda a, b: np.concatenate([a, b, a], 1)),
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_builder_op(op, ):
    rng = np.random.default_rng()
    build, want = OPS[op]
    g = ts.Graph("f")
    a = g.input("a", ("M", 12))
    b = g.input("b", ("M", 12))
    g.output(build(g, a, b))
    fn = ts.compile(g)
    for m in (1, 5):
        av, bv = rand(rng, m, 12), rand(rng, m, 12)
        assert np.allclose(fn(av, bv), want(av.astype(np.float64), bv.astype(np.float64)),
                           rtol=1e-5, atol=1e-5), op


def test_mlir_text_is_the_ir():
    g = ts.Graph("layer")
    x = g.input("x", ("M", 64))
    q = ts.quantize(rand(np.random.default_rng(), 8, 64), "u3", 32)
    g.output(g.relu(g.mpmm(x, q)))
    text = g.mlir()
    assert "func.func @layer(%x_in: tensor<?x64xf32> {tessera.name = \"x\", tessera.dims = [\"M\", \"\"]}" in text
    assert "tessera.mpmm" in text and "tensor<8x64xui3>" in text


def test_mlp_block_with_3bit_weights():
    rng = np.random.default_rng()
    d, f = 64, 96
    qs = [ts.quantize(rand(rng, f, d), "u3", 32), ts.quantize(rand(rng, f, d), "u3", 32),
          ts.quantize(rand(rng, d, f), "u3", 32)]
    g = ts.Graph("mlp")
    x = g.input("x", ("M", d))
    h = g.silu(g.mpmm(x, qs[0])) * g.mpmm(x, qs[1])
    g.output(g.mpmm(h, qs[2]))
    fn = ts.compile(g)
    xv = rand(rng, 4, d)
    w = [ref.dequantize(q.codes, q.scales, 32, q.zeros, "int").astype(np.float64)
         for q in qs]
    x64 = xv.astype(np.float64)
    a, b = x64 @ w[0].T, x64 @ w[1].T
    h = a / (1 + np.exp(-a)) * b
    want = h @ w[2].T
    # f32 rounding, relative to the magnitudes summed (the outputs cancel).
    bound = 1e-4 * (np.abs(h) @ np.abs(w[2]).T) + 1e-5
    assert (np.abs(fn(x=xv) - want) <= bound).all()


# --- quantization helpers ------------------------------------------------------

@pytest.mark.parametrize("dtype,zero", [("u3", "int"), ("u4", "float"), ("s4", "none"),
                                        ("e2m1", "none"), ("f8E4M3FN", "none"), ("u2", "int")])
def test_quantize_matches_reference(dtype, zero):
    rng = np.random.default_rng()
    w = rand(rng, 16, 128)
    q = ts.quantize(w, dtype, 32, zero=zero, scale_dtype="f16")
    t = ts.code_type(dtype)
    codes = (("float",) + t.float_format) if t.is_float else ("int", t.bits, t.signed)
    zspec = {"int": ("int", t.bits, t.signed), "float": ("float", np.float16), "none": None}[zero]
    want_q, want_s, want_z = ref.quantize(w, 32, codes, np.float16, zspec)
    assert np.array_equal(q.codes, want_q)
    assert np.array_equal(q.scales, want_s)
    deq = ts.dequantize(q)
    want = ref.dequantize(want_q, want_s, 32, want_z, zero,
                          float_format=t.float_format if t.is_float else None)
    assert np.allclose(deq, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["u1", "u3", "s5", "u7", "s8", "e3m2"])
def test_pack_unpack_match_reference(dtype):
    rng = np.random.default_rng()
    t = ts.code_type(dtype)
    lo, hi = t.code_range() if not t.is_float else (0, (1 << t.bits) - 1)
    codes = rng.integers(lo, hi + 1, size=(7, 9))
    packed = ts.pack(codes, dtype)
    assert np.array_equal(packed, ref.pack(codes, t.bits))
    assert np.array_equal(ts.unpack(packed, codes.shape, dtype), codes)
    planes = ts.pack(codes, dtype, tile=(7, 3), bit_planes=True)
    assert np.array_equal(planes, ref.pack_layout(codes, t.bits, [7, 3], True))


def test_codebook_weights():
    rng = np.random.default_rng()
    codes = rng.integers(0, 16, size=(8, 64))
    scales = rng.uniform(0.5, 1, size=(8, 1)).astype(np.float32)
    q = ts.QuantizedTensor(codes, scales, 64, "u4", codebook=importers.NF4_TABLE)
    g = ts.Graph("cb")
    x = g.input("x", ("M", 64))
    g.output(g.mpmm(x, q))
    xv = rand(rng, 3, 64)
    want = xv @ (scales * importers.NF4_TABLE[codes]).T
    assert np.allclose(ts.compile(g)(xv), want, rtol=1e-5, atol=1e-5)


# --- importers -------------------------------------------------------------------

def pack_words_along(values, bits, axis):
    """Reference packer: int32 words, values LSB first along `axis`."""
    v = np.moveaxis(np.asarray(values), axis, 0)
    count, cols = v.shape
    nwords = count * bits // 32
    out = np.zeros((nwords, cols), np.uint64)
    for i in range(count):
        for b in range(bits):
            bit = i * bits + b
            out[bit // 32] |= ((v[i].astype(np.uint64) >> b) & 1) << (bit % 32)
    return np.moveaxis(out.astype(np.uint32).view(np.int32), 0, axis)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("act_order", [False, True])
def test_gptq(bits, act_order):
    rng = np.random.default_rng()
    n, k, g = 32, 128, 32
    codes = rng.integers(0, 1 << bits, size=(k, n))          # GPTQ's [K, N]
    zeros = rng.integers(1, 1 << bits, size=(k // g, n))     # stored as z - 1
    scales = rng.uniform(0.01, 0.1, size=(k // g, n)).astype(np.float16)
    g_idx = np.repeat(np.arange(k // g), g)
    if act_order:
        g_idx = rng.permutation(g_idx)
    q = importers.gptq(pack_words_along(codes, bits, 0), pack_words_along(zeros - 1, bits, 1),
                       scales, g_idx, bits=bits, group_size=g)
    # GPTQ's own dequantization: W[k, n] = s[g_idx[k], n] * (q[k, n] - z[g_idx[k], n]).
    want = scales[g_idx].astype(np.float64) * (codes - zeros[g_idx])    # K x N
    x = rand(rng, 3, k)
    graph = ts.Graph("gptq")
    xin = graph.input("x", ("M", k))
    graph.output(graph.mpmm(xin, q))
    assert np.allclose(ts.compile(graph)(x), x @ want, rtol=1e-4, atol=1e-4)


def test_awq_order():
    rng = np.random.default_rng()
    n, k, g = 16, 64, 32
    codes = rng.integers(0, 16, size=(k, n))
    zeros = rng.integers(0, 16, size=(k // g, n))
    scales = rng.uniform(0.01, 0.1, size=(k // g, n)).astype(np.float16)

    def awq_pack(v):  # AutoAWQ: nibble i of each word holds channel order[i]
        words = np.zeros((v.shape[0], v.shape[1] // 8), np.uint32)
        for i, c in enumerate([0, 2, 4, 6, 1, 3, 5, 7]):
            words |= v[:, c::8].astype(np.uint32) << (4 * i)
        return words.view(np.int32)
    q = importers.awq(awq_pack(codes), awq_pack(zeros), scales, g)
    assert np.array_equal(q.codes, codes.T)
    assert np.array_equal(q.zeros, zeros.T)
    want = np.repeat(scales.T.astype(np.float64), g, 1) * (codes.T - np.repeat(zeros.T, g, 1))
    assert np.allclose(ts.dequantize(q), want, rtol=1e-6, atol=1e-7)


def test_nf4():
    rng = np.random.default_rng()
    codes = rng.integers(0, 16, size=(4, 128))
    absmax = rng.uniform(0.5, 2, size=(4 * 128 // 64,)).astype(np.float32)
    flat = codes.reshape(-1)
    packed = ((flat[0::2] << 4) | flat[1::2]).astype(np.uint8)  # bitsandbytes: first code high
    q = importers.nf4(packed, absmax, (4, 128), blocksize=64)
    want = importers.NF4_TABLE[codes] * np.repeat(absmax.reshape(4, 2), 64, axis=1)
    assert np.allclose(ts.dequantize(q), want, rtol=1e-6)


def f16b(v):
    return np.float16(v).tobytes()


def ggml_reference(kind, block):
    """Transcription of ggml's dequantize_row_* for one block."""
    b = np.frombuffer(block, np.uint8)
    f = lambda o: float(np.frombuffer(block[o:o + 2], np.float16)[0])
    y = []
    if kind == "q4_0":
        d = f(0)
        y = [d * ((b[2 + j] & 0xF) - 8) for j in range(16)] + [d * ((b[2 + j] >> 4) - 8) for j in range(16)]
    elif kind == "q4_1":
        d, m = f(0), f(2)
        y = [d * (b[4 + j] & 0xF) + m for j in range(16)] + [d * (b[4 + j] >> 4) + m for j in range(16)]
    elif kind == "q8_0":
        d = f(0)
        y = [d * int(np.int8(b[2 + j])) for j in range(32)]
    elif kind == "q2_K":
        sc, q, d, mn = b[:16], b[16:80], f(80), f(82)
        is_ = 0
        for n0 in range(0, 256, 128):
            qq = q[n0 // 4:]
            shift = 0
            for j in range(4):
                s = sc[is_]; is_ += 1
                y += [d * (s & 0xF) * ((qq[l] >> shift) & 3) - mn * (s >> 4) for l in range(16)]
                s = sc[is_]; is_ += 1
                y += [d * (s & 0xF) * ((qq[l + 16] >> shift) & 3) - mn * (s >> 4) for l in range(16)]
                shift += 2
    elif kind == "q4_K":
        d, mn, s12, q = f(0), f(2), b[4:16].astype(int), b[16:]
        def sm(j):
            if j < 4:
                return s12[j] & 63, s12[j + 4] & 63
            return (s12[j + 4] & 0xF) | ((s12[j - 4] >> 6) << 4), (s12[j + 4] >> 4) | ((s12[j] >> 6) << 4)
        for c in range(4):
            (s1, m1), (s2, m2) = sm(2 * c), sm(2 * c + 1)
            y += [d * s1 * (q[32 * c + l] & 0xF) - mn * m1 for l in range(32)]
            y += [d * s2 * (q[32 * c + l] >> 4) - mn * m2 for l in range(32)]
    elif kind == "q6_K":
        ql, qh, sc, d = b[:128].astype(int), b[128:192].astype(int), b[192:208].view(np.int8), f(208)
        out = [0.0] * 256
        for half in range(2):
            L, H, S = ql[64 * half:], qh[32 * half:], sc[8 * half:]
            for l in range(32):
                is_ = l // 16
                q1 = ((L[l] & 0xF) | (((H[l] >> 0) & 3) << 4)) - 32
                q2 = ((L[l + 32] & 0xF) | (((H[l] >> 2) & 3) << 4)) - 32
                q3 = ((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32
                q4 = ((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32
                base = 128 * half
                out[base + l] = d * S[is_] * q1
                out[base + l + 32] = d * S[is_ + 2] * q2
                out[base + l + 64] = d * S[is_ + 4] * q3
                out[base + l + 96] = d * S[is_ + 6] * q4
        y = out
    elif kind == "tq2_0":
        qs, d = b[:64], f(64)
        for j in range(0, 64, 32):
            for l in range(4):
                y += [(((qs[j + m] >> (2 * l)) & 3) - 1) * d for m in range(32)]
    return np.array(y)


GGML = {"q4_0": (18, 32), "q4_1": (20, 32), "q8_0": (34, 32), "q2_K": (84, 256),
        "q4_K": (144, 256), "q6_K": (210, 256), "tq2_0": (66, 256)}


@pytest.mark.parametrize("kind", sorted(GGML))
def test_ggml_blocks(kind):
    rng = np.random.default_rng()
    size, values = GGML[kind]
    n, k = 3, 512
    blocks = []
    for _ in range(n * k // values):
        raw = bytearray(rng.integers(0, 256, size=size, dtype=np.uint8).tobytes())
        # Keep the f16 fields finite and modest.
        for off in {"q4_0": [0], "q4_1": [0, 2], "q8_0": [0], "q2_K": [80, 82],
                    "q4_K": [0, 2], "q6_K": [208], "tq2_0": [64]}[kind]:
            raw[off:off + 2] = f16b(rng.uniform(-0.1, 0.1))
        if kind == "tq2_0":  # ternary: codes 0, 1, 2 only
            for i in range(64):
                raw[i] = sum(int(rng.integers(0, 3)) << (2 * l) for l in range(4))
        blocks.append(bytes(raw))
    q = importers.ggml(np.frombuffer(b"".join(blocks), np.uint8), (n, k), kind)
    want = np.concatenate([ggml_reference(kind, bl) for bl in blocks]).reshape(n, k)
    assert np.allclose(ts.dequantize(q), want, rtol=1e-5, atol=1e-6), kind


# --- compile, load, cache ------------------------------------------------------------

def small_graph(rng):
    q = ts.quantize(rand(rng, 24, 64), "u4", 32)
    g = ts.Graph("small")
    x = g.input("x", ("M", 64))
    # concat makes the compiled code call the runtime's memrefCopy.
    g.output(g.concat([g.gelu(g.mpmm(x, q)) + 1.0, x], axis=1))
    return g


def test_jit_and_aot_agree_on_dynamic_shapes(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    g = small_graph(rng)
    jit = ts.compile(g)
    aot = ts.compile(g, output=tmp_path / "libsmall.so", header=tmp_path / "small.h")
    loaded = ts.load(tmp_path / "libsmall.so", params=g.params)
    assert "int32_t small_small(" in (tmp_path / "small.h").read_text()
    for m in (1, 2, 9):
        x = rand(rng, m, 64)
        a, b, c = jit(x), aot(x), loaded(x=x)
        assert a.shape == (m, 88)
        assert np.array_equal(a, b) and np.array_equal(b, c)


def test_cache_reuses_and_is_atomic(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(cache))
    g = small_graph(np.random.default_rng(1))
    ts.compile(g, output=tmp_path / "liba.so")
    entries = sorted(p.name for p in cache.glob("*.so"))
    assert len(entries) == 1
    stamp = (cache / entries[0]).stat().st_mtime_ns
    ts.compile(g, output=tmp_path / "liba.so")                 # hit: not rebuilt
    assert (cache / entries[0]).stat().st_mtime_ns == stamp
    ts.compile(g, output=tmp_path / "liba.so", opt_level=1)   # other options: new entry
    assert len(list(cache.glob("*.so"))) == 2
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no leftovers


def test_cache_key_follows_the_compiler_contents(tmp_path, monkeypatch):
    # Another build of the compiler gets other cache entries even where its
    # extension module has the same size and time as the last (cp -p).
    cache = tmp_path / "cache"
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(cache))
    first, second = tmp_path / "a.so", tmp_path / "b.so"
    first.write_bytes(b"compiler build 1")
    second.write_bytes(b"compiler build 2")
    os.utime(second, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns))
    assert ts.runtime._file_digest(first) != ts.runtime._file_digest(second)
    g = small_graph(np.random.default_rng(1))
    for module in (first, second):
        monkeypatch.setattr(ts.runtime._tessera, "__file__", str(module))
        ts.runtime._compiler_id.cache_clear()
        ts.compile(g, output=tmp_path / "libm.so")
    ts.runtime._compiler_id.cache_clear()
    assert len(list(cache.glob("*.so"))) == 2


def test_mlir_text_compiles_too():
    fn = ts.compile("""
func.func @twice(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = arith.addf %x, %x : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}""")
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    assert np.array_equal(fn(x), 2 * x)


def residual_graph(rng, name):
    """y = mpmm(x, q) + r with x: M x 64 and r: M x 8 sharing M; returns
    the graph and the dequantized weights."""
    q = ts.quantize(rng.standard_normal((8, 64)).astype(np.float32), "u4", 32)
    g = ts.Graph(name)
    x = g.input("x", ("M", 64))
    r = g.input("r", ("M", 8))
    g.output(g.mpmm(x, q) + r)
    return g, ts.dequantize(q).astype(np.float64)


def test_repeated_calls_check_each_new_input(tmp_path, monkeypatch):
    # A call whose inputs are contiguous arrays of the dtypes and shapes of
    # an earlier call skips the checks; any other input is checked again:
    # a new M, a wrong dtype or shape after good calls, a non-contiguous
    # view (copied), another named-dimension conflict.
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    g, w = residual_graph(rng, "rep")
    for fn in (ts.compile(g), ts.compile(g, output=tmp_path / "librep.so")):
        for m in (3, 3, 5, 3):
            xv = rng.standard_normal((m, 64)).astype(np.float32)
            rv = rng.standard_normal((m, 8)).astype(np.float32)
            y = fn(xv, rv)
            assert y.shape == (m, 8)
            assert np.allclose(y, xv @ w.T + rv, rtol=1e-4, atol=1e-4)
        with pytest.raises(TypeError, match="input 'x' of rep\\(\\): expected dtype float32"):
            fn(xv.astype(np.float64), rv)
        with pytest.raises(ValueError, match="input 'r' of rep\\(\\): dimension 0 \\(M\\) is 2"):
            fn(xv, rv[:2])
        wide = rng.standard_normal((3, 128)).astype(np.float32)
        view = wide[:, ::2]
        assert not view.flags.c_contiguous
        assert np.allclose(fn(view, rv), view @ w.T + rv, rtol=1e-4, atol=1e-4)
        assert np.allclose(fn(x=xv, r=rv), xv @ w.T + rv, rtol=1e-4, atol=1e-4)


# --- errors ----------------------------------------------------------------------------

def test_errors_name_the_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    g = small_graph(rng)
    for fn in (ts.compile(g), ts.compile(g, output=tmp_path / "libe.so")):
        with pytest.raises(TypeError, match="input 'x' of small\\(\\): expected dtype float32"):
            fn(np.zeros((2, 64), np.float64))
        with pytest.raises(ValueError, match="input 'x' of small\\(\\): dimension 1 must be 64"):
            fn(np.zeros((2, 63), np.float32))
        with pytest.raises(TypeError, match="missing input 'x'"):
            fn()
        with pytest.raises(TypeError, match="has no input 'y'"):
            fn(y=np.zeros((2, 64), np.float32))
        with pytest.raises(TypeError, match="expected a numpy array"):
            fn([[1.0] * 64])
    with pytest.raises(ValueError, match="cpu='x86-64-v3' needs output="):
        ts.compile(g, cpu="x86-64-v3")


def test_named_dimension_conflict_names_the_input(tmp_path, monkeypatch):
    # x and r share M: an r of another M is an error naming r. Bound
    # parameters are checked at the first call only; calls after an error
    # still run, JIT and AOT.
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    g, w = residual_graph(rng, "res")
    for fn in (ts.compile(g), ts.compile(g, output=tmp_path / "libres.so")):
        xv = rng.standard_normal((3, 64)).astype(np.float32)
        rv = rng.standard_normal((3, 8)).astype(np.float32)
        with pytest.raises(ValueError, match="input 'r' of res\\(\\): dimension 0 \\(M\\) is 2, "
                                             "but M = 3 in another input"):
            fn(xv, rv[:2])
        for m in (3, 5):
            xv = rng.standard_normal((m, 64)).astype(np.float32)
            rv = rng.standard_normal((m, 8)).astype(np.float32)
            assert np.allclose(fn(xv, rv), xv @ w.T + rv, rtol=1e-4, atol=1e-4)


def test_invalid_ir_raises_with_diagnostics():
    with pytest.raises(ts.CompileError, match=r"loc\(\"<f>\":3:8\): error: 'tessera.mpmm' op expects group_size to divide K = 96"):
        ts.compile("""func.func @f(%x: tensor<2x96xf32>, %w: tensor<4x96xui4>, %s: tensor<4x1xf32>, %i: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // a comment line
  %y = tessera.mpmm %x, %w : tensor<2x96xf32>, tensor<4x96xui4> scales %s : tensor<4x1xf32> group_size 64 outs %i : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}""")
    with pytest.raises(ts.CompileError, match="expected"):
        ts.compile("func.func @f( {")


def test_bad_quantization_arguments():
    w = np.zeros((4, 64), np.float32)
    with pytest.raises(ValueError, match="'u9': integer codes have 1 to 8 bits"):
        ts.quantize(w, "u9")
    with pytest.raises(ValueError, match="group_size 48 must divide K = 64"):
        ts.quantize(w, "u4", 48)
    with pytest.raises(ValueError, match="zero must be"):
        ts.quantize(w, "u4", 32, zero="maybe")
    with pytest.raises(ts.CompileError, match="expects signed codes for symmetric quantization"):
        ts.quantize(w, "u4", 32, zero="none")
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 7\]"):
        ts.QuantizedTensor(np.full((2, 32), 9), np.ones((2, 1), np.float32), 32, "u3")
    with pytest.raises(ValueError, match="scales must have shape"):
        ts.QuantizedTensor(np.zeros((2, 32), int), np.ones((2, 2), np.float32), 32, "u3")


def test_graph_errors():
    g = ts.Graph("bad")
    x = g.input("x", ("M", 8))
    with pytest.raises(ValueError, match="does not broadcast"):
        g.add(x, np.ones(5, np.float32))
    with pytest.raises(ValueError, match="do not compose"):
        g.matmul(x, np.ones((7, 3), np.float32))
    with pytest.raises(ValueError, match="has no outputs"):
        g.mlir()
    with pytest.raises(ValueError, match="must be an identifier"):
        ts.Graph("not a name")


def test_failed_pass_names_the_pipeline(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    # Valid IR that the reference lowering cannot handle: a reshape of low-bit codes.
    text = """func.func @f(%w: tensor<8x8xui3>) -> tensor<4x16xf32> {
  %s = tensor.collapse_shape %w [[0, 1]] : tensor<8x8xui3> into tensor<64xui3>
  %t = tensor.expand_shape %s [[0, 1]] output_shape [4, 16] : tensor<64xui3> into tensor<4x16xui3>
  %c = arith.constant dense<1.0> : tensor<4x1xf32>
  %d = tessera.dequantize %t : tensor<4x16xui3> scales %c : tensor<4x1xf32> group_size 16 -> tensor<4x16xf32>
  return %d : tensor<4x16xf32>
}"""
    with pytest.raises(ts.CompileError) as info:
        ts.compile(text)
    message = str(info.value)
    assert "failed to legalize operation 'tensor.collapse_shape'" in message
    assert "note: while running the CPU pipeline: builtin.module(tessera-choose-mpmm-strategy" in message
    # The reproducer replays the failure.
    reproducer = message.split("note: reproducer written to ")[1].split(" ")[0]
    assert pathlib.Path(reproducer).is_file()
    tool = pathlib.Path(ts.__file__).parents[2] / "bin" / "tessera-opt"
    replay = subprocess.run([str(tool), "--run-reproducer", reproducer],
                            capture_output=True, text=True)
    assert replay.returncode != 0 and "failed to legalize" in replay.stderr
