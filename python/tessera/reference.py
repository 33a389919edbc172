"""Numpy reference semantics of the Tessera ops.

Written independently of the compiler and of lib/Support: it is what the
compiled code is tested against. Everything is computed in float64.
"""

import numpy as np


def code_range(bits, signed):
    """The smallest and largest code of a `bits`-bit integer type."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def pack(codes, bits):
    """Canonical storage: row-major, code i at bits [i*b, (i+1)*b), LSB first.

    Built from an explicit bit array and np.packbits(bitorder="little"), one
    bit at a time, so it shares nothing with the compiler's packer.
    """
    flat = np.asarray(codes).reshape(-1).astype(np.int64)
    unsigned = flat & ((1 << bits) - 1)  # two's complement for signed codes
    bit_matrix = (unsigned[:, None] >> np.arange(bits)[None, :]) & 1
    return np.packbits(bit_matrix.reshape(-1).astype(np.uint8), bitorder="little")


def unpack(storage, shape, bits, signed):
    """Inverse of `pack`."""
    n = int(np.prod(shape))
    bit_stream = np.unpackbits(np.asarray(storage, dtype=np.uint8), bitorder="little")
    bit_matrix = bit_stream[: n * bits].reshape(n, bits).astype(np.int64)
    values = (bit_matrix << np.arange(bits)[None, :]).sum(axis=1)
    if signed:
        values = np.where(values >= (1 << (bits - 1)), values - (1 << bits), values)
    return values.reshape(shape)


def dequantize(codes, scales, group_size, zeros=None, zero_mode="none",
               codebook=None, float_format=None):
    """deq(n, k) of DESIGN.md 2.3, as float64 of shape N x K.

    zero_mode: "none" (s * v), "int" (s * (v - z)) or "float" (s * v + z);
    v is the code's integer value, codebook[code], or the value of the code
    in float_format = (E, M) (codes are then the raw bit patterns).
    """
    codes = np.asarray(codes).astype(np.int64)
    n, k = codes.shape
    assert k % group_size == 0, "group_size must divide K"
    if codebook is not None:
        values = np.asarray(codebook, dtype=np.float64)[codes]
    elif float_format is not None:
        values = float_table(*float_format)[codes]
    else:
        values = codes.astype(np.float64)
    expand = lambda a: np.repeat(np.asarray(a).astype(np.float64), group_size, axis=1)
    s = expand(scales)
    if zero_mode == "none":
        return s * values
    if zero_mode == "int":
        return s * (values - expand(zeros))
    if zero_mode == "float":
        return s * values + expand(zeros)
    raise ValueError(f"unknown zero_mode {zero_mode!r}")


def mpmm(x, codes, scales, group_size, zeros=None, zero_mode="none",
         codebook=None, init=None, float_format=None):
    """Y = init + X @ deq(W)^T in float64; X is M x K, W is N x K."""
    w = dequantize(codes, scales, group_size, zeros, zero_mode, codebook,
                   float_format)
    y = np.asarray(x, dtype=np.float64) @ w.T
    if init is not None:
        y = y + np.asarray(init, dtype=np.float64)
    return y


def mpmm_error_bound(x, codes, scales, group_size, zeros=None, zero_mode="none",
                     codebook=None, float_format=None):
    """A bound on |f32 result - exact| for an f32 accumulation over K terms.

    Sequential f32 summation of K products errs by at most about
    K * 2^-24 * sum_k |x * deq|; each dequantized weight and product adds a
    few roundings more. We allow (K + 4) * 2^-23 * sum_k |x * deq| + tiny.
    The CPU row kernels with byte dot products (tessera-lower-mpmm-to-vector
    with byte-dots, AVX512-VNNI: x rounded per group to an integer below
    2^22 times 2^-t, t from the group's largest |x|) add
    at most half a step, 2^-22 max_g |x|, per product:
    2^-22 * sum_g max_g |x| * sum_g |deq|.
    """
    w = dequantize(codes, scales, group_size, zeros, zero_mode, codebook,
                   float_format)
    k = w.shape[1]
    xa = np.abs(np.asarray(x, dtype=np.float64))
    magnitude = xa @ np.abs(w).T
    groups = k // group_size
    xmax = xa.reshape(xa.shape[0], groups, group_size).max(axis=2)
    wsum = np.abs(w).reshape(w.shape[0], groups, group_size).sum(axis=2)
    return (k + 4) * 2.0 ** -23 * magnitude + 2.0 ** -22 * (xmax @ wsum.T) + 1e-30


def lut_table_scales(x, group_size, codebook=None):
    """The int8 table scales of tessera.lut_tables, in f32: per row and
    group, max over its runs of 4 of sum |x| (summed in order), / 127; with
    a codebook, max |x| * max |codebook| / 127."""
    x = np.asarray(x, dtype=np.float32)
    m, k = x.shape
    if codebook is not None:
        cmax = np.float32(np.abs(np.asarray(codebook, dtype=np.float32)).max())
        amax = (np.abs(x).reshape(m, k // group_size, group_size) * cmax).max(axis=2)
        return (amax / np.float32(127)).astype(np.float32)
    return (_lut_run_amax(x, group_size) / np.float32(127)).astype(np.float32)


def _lut_run_amax(x, group_size):
    """Per row and group of f32 `x`, the largest run of 4 of sum |x|,
    summed in order."""
    m, k = x.shape
    a = np.abs(x).reshape(m, k // 4, 4)
    run_sums = ((a[:, :, 0] + a[:, :, 1]) + a[:, :, 2]) + a[:, :, 3]
    return run_sums.reshape(m, k // group_size, group_size // 4).max(axis=2)


def lut_tables(x, group_size):
    """The int8 tables of tessera.lut_tables (no codebook) as the vector
    lowering builds them, bit for bit: per row m and run j of 4
    activations, entries T[p] = (+/-x3 +/- x2) +/- x1 +/- x0 (+ where bit t
    of p is set), for p < 8 summed in that order in f32, times 127 / a (a:
    the group's largest run of sum |x|; 0 for a = 0), rounded to even, with
    T[15 - p] = -T[p]; returns (tables M x K/4 x 16 int8, table scales,
    sums of x per group in f64)."""
    x = np.asarray(x, dtype=np.float32)
    m, k = x.shape
    runs = x.reshape(m, k // 4, 4)
    x0, x1, x2, x3 = (runs[:, :, t] for t in range(4))
    amax = _lut_run_amax(x, group_size)
    f127 = np.float32(127)
    with np.errstate(divide="ignore"):
        inv = np.where(amax > 0, f127 / amax, np.float32(0)).astype(np.float32)
    inv_runs = np.repeat(inv, group_size // 4, axis=1)
    tables = np.empty((m, k // 4, 16), dtype=np.int8)
    for p in range(8):
        s2 = x2 - x3 if p & 4 else -(x3 + x2)
        s1 = s2 + x1 if p & 2 else s2 - x1
        t = s1 + x0 if p & 1 else s1 - x0
        q = np.rint(t * inv_runs).astype(np.int8)
        tables[:, :, p] = q
        tables[:, :, 15 - p] = -q
    sums = x.astype(np.float64).reshape(m, k // group_size, group_size).sum(axis=2)
    return tables, (amax / f127).astype(np.float32), sums


def lut_error_bound(x, codes, scales, group_size, bits, zeros=None,
                    zero_mode="none", int8_tables=True, codebook=None):
    """A bound on |LUT-strategy mpmm - exact| (docs/lut.md derives it).

    Signed-sum tables reconstruct a group's sum over x * q as
    sum_i c_i * acc_i + C * sum(x) with |c_i|, |C| up to 2^(b-1), so f32
    rounding scales with 2^b * sum_g |x| rather than with sum |x * q|:
    per group (G / 4 + 16) * 2^-23 * (2^b + |z|) * sum_g |x| * |s|, plus
    the accumulation of the groups. Int8 tables add, per group, the rounding
    of each looked-up entry (at most half a table-scale step ts) times
    sum_i |c_i| = (2^b - 1) / 2 over the G / 4 runs: |s| * ts * (2^b - 1) * G / 8.
    With a codebook (tables of x * codebook[q] per activation, one lookup per
    weight): f32 rounding per group (G + 16) * 2^-23 * max|cb| * sum_g |x|,
    and int8 tables |s| * ts * G / 2.
    """
    x64 = np.abs(np.asarray(x, dtype=np.float64))
    m, k = x64.shape
    ng = k // group_size
    s = np.abs(np.asarray(scales, dtype=np.float64))              # N x ng
    z = np.zeros_like(s) if zeros is None else np.abs(np.asarray(zeros, dtype=np.float64))
    ax = x64.reshape(m, ng, group_size).sum(axis=2)                # M x ng
    if codebook is not None:
        cmax = float(np.abs(np.asarray(codebook, dtype=np.float64)).max())
        per_group = (group_size + 16) * 2.0 ** -23 * (cmax + z)
    else:
        per_group = (group_size / 4 + 16) * 2.0 ** -23 * (2.0 ** bits + z)  # N x ng
    bound = ax @ (s * per_group).T
    if zero_mode == "float":
        bound = bound + ax @ (z * 2.0 ** -22).T
    exact = mpmm(x, codes, scales, group_size, zeros, zero_mode, codebook)
    bound = bound + (ng + 4) * 2.0 ** -23 * (np.abs(exact) + bound)
    if int8_tables:
        ts = lut_table_scales(x, group_size, codebook).astype(np.float64)   # M x ng
        steps = group_size / 2 if codebook is not None else (2.0 ** bits - 1) * group_size / 8
        bound = bound + ts @ s.T * steps * 1.001
    return bound + 1e-30


# --- Float formats -----------------------------------------------------------

# (E, M) of every float format of 3 to 8 bits, and the builtin MLIR names of
# those MLIR has (same meaning).
FLOAT_FORMATS = [(e, m) for e in range(1, 7) for m in range(1, 7)
                 if 3 <= 1 + e + m <= 8]
BUILTIN_FLOATS = {"f4E2M1FN": (2, 1), "f6E3M2FN": (3, 2), "f6E2M3FN": (2, 3),
                  "f8E4M3FN": (4, 3), "f8E5M2": (5, 2)}


def float_type_name(e, m):
    """The Tessera spelling of format (E, M): !tessera.f4e2m1."""
    return f"!tessera.f{1 + e + m}e{e}m{m}"


def float_decode(code, e, m):
    """Exact value of a code of format (E, M), from its bit fields.

    bias 2^(E-1)-1, subnormals; E = 5 has IEEE inf/NaN; e4m3 has only
    S.1111.111 as NaN; every other format has no specials.
    """
    sign = -1.0 if (code >> (e + m)) & 1 else 1.0
    exp = (code >> m) & ((1 << e) - 1)
    man = code & ((1 << m) - 1)
    ones = (1 << e) - 1
    if e == 5 and exp == ones:
        return sign * np.inf if man == 0 else np.nan
    if (e, m) == (4, 3) and exp == ones and man == (1 << m) - 1:
        return np.nan
    bias = (1 << (e - 1)) - 1
    if exp == 0:
        return sign * man * 2.0 ** (1 - bias - m)
    return sign * (1 + man / 2.0 ** m) * 2.0 ** (exp - bias)


def float_table(e, m):
    """Values of all 2^(1+E+M) codes, in code order."""
    return np.array([float_decode(c, e, m) for c in range(1 << (1 + e + m))])


def float_largest(e, m):
    table = float_table(e, m)
    return np.nanmax(np.where(np.isinf(table), np.nan, table))


def float_encode(x, e, m):
    """Nearest code (ties to the even code), saturating; by exhaustive search.

    inf encodes as inf where the format has it, NaN as NaN where it has it
    and as +0 otherwise.
    """
    x = np.asarray(x, dtype=np.float64)
    table = float_table(e, m)
    bits = 1 + e + m
    out = np.zeros(x.shape, dtype=np.int64)
    half = 1 << (bits - 1)
    finite_pos = [c for c in range(half) if np.isfinite(table[c])]
    values = table[finite_pos]
    for idx, v in np.ndenumerate(x):
        sign = half if np.signbit(v) else 0
        if np.isnan(v):
            nan_codes = [c for c in range(half) if np.isnan(table[c])]
            out[idx] = (sign | nan_codes[0]) if nan_codes else 0
            continue
        if np.isinf(v) and e == 5:
            out[idx] = sign | ((1 << (bits - 1)) - (1 << m))
            continue
        a = abs(v)
        if a >= values[-1]:
            out[idx] = sign | finite_pos[-1]
            continue
        err = np.abs(values - a)
        best = np.flatnonzero(err == err.min())
        choice = [finite_pos[i] for i in best]
        even = [c for c in choice if c % 2 == 0]
        out[idx] = sign | (even[0] if even else choice[0])
    return out


# --- Quantization (the rules documented with tessera.quantize) ---------------

def _round_to(v, dtype):
    return np.asarray(v, dtype=np.float32).astype(dtype).astype(np.float64)


def quantize(w, group_size, codes, scale_dtype=np.float32, zeros=None):
    """Reference of tessera.quantize.

    codes: ("int", bits, signed) or ("float", e, m); zeros: None, ("int",
    bits, signed) or ("float", dtype). Returns (codes, scales, zeros) with
    scales/zeros as numpy arrays of their stored dtypes.
    """
    w = np.asarray(w, dtype=np.float32)
    n, k = w.shape
    g = w.reshape(n, k // group_size, group_size).astype(np.float64)
    lo, hi = g.min(axis=2), g.max(axis=2)
    amax = np.abs(g).max(axis=2)
    f32 = np.float32
    if codes[0] == "float":
        _, e, m = codes
        s = (amax.astype(f32) / f32(float_largest(e, m))).astype(f32)
        s_stored = s.astype(scale_dtype)
        s32 = s_stored.astype(f32)
        safe = np.where(s32 == 0, f32(1), s32)
        scaled = (g.astype(f32) / safe[:, :, None]).astype(f32)
        q = np.where(s32[:, :, None] == 0, 0, float_encode(scaled, e, m))
        return q.reshape(n, k), s_stored, None
    _, bits, signed = codes
    qmin, qmax = code_range(bits, signed)
    if zeros is None:
        s = (amax.astype(f32) / f32(qmax)).astype(f32)
        s_stored = s.astype(scale_dtype)
        s32 = s_stored.astype(f32)
        safe = np.where(s32 == 0, f32(1), s32)
        q = np.rint((g.astype(f32) / safe[:, :, None]).astype(f32))
        q = np.where(s32[:, :, None] == 0, 0, q)
        return np.clip(q, qmin, qmax).astype(np.int64).reshape(n, k), s_stored, None
    if zeros[0] == "int":
        _, zbits, zsigned = zeros
        zmin, zmax = code_range(zbits, zsigned)
        lo0, hi0 = np.minimum(lo, 0).astype(f32), np.maximum(hi, 0).astype(f32)
        s = ((hi0 - lo0) / f32(qmax - qmin)).astype(f32)
        s_stored = s.astype(scale_dtype)
        s32 = s_stored.astype(f32)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.rint((f32(qmin) - lo0 / s32).astype(f32))
        z = np.where(s32 == 0, 0, z)
        z = np.clip(z, zmin, zmax)
        safe = np.where(s32 == 0, f32(1), s32)
        q = np.rint((g.astype(f32) / safe[:, :, None]).astype(f32)) + z[:, :, None]
        q = np.where(s32[:, :, None] == 0, z[:, :, None], q)
        q = np.clip(q, qmin, qmax)
        return q.astype(np.int64).reshape(n, k), s_stored, z.astype(np.int64)
    zdtype = zeros[1]
    s = ((hi.astype(f32) - lo.astype(f32)) / f32(qmax - qmin)).astype(f32)
    s_stored = s.astype(scale_dtype)
    s32 = s_stored.astype(f32)
    z_stored = (lo.astype(f32) - f32(qmin) * s32).astype(f32).astype(zdtype)
    z32 = z_stored.astype(f32)
    safe = np.where(s32 == 0, f32(1), s32)
    q = np.rint(((g.astype(f32) - z32[:, :, None]).astype(f32) / safe[:, :, None]).astype(f32))
    q = np.where(s32[:, :, None] == 0, qmin, q)
    q = np.clip(q, qmin, qmax)
    return q.astype(np.int64).reshape(n, k), s_stored, z_stored


def lookup(table, indices):
    """out = table[indices]."""
    return np.asarray(table)[np.asarray(indices)]


# --- Storage layouts (#tessera.layout) --------------------------------------

def _tile_order(codes, tile):
    """Codes in layout enumeration order: tiles row-major over the tile
    grid, row-major inside each tile. Returns shape (num_tiles, tile_elems)."""
    codes = np.asarray(codes)
    if tile is None:
        return codes.reshape(1, -1)
    shape = codes.shape
    grid = [s // t for s, t in zip(shape, tile)]
    split = []
    for g, t in zip(grid, tile):
        split += [g, t]
    r = codes.reshape(split)
    rank = len(shape)
    order = [2 * d for d in range(rank)] + [2 * d + 1 for d in range(rank)]
    return r.transpose(order).reshape(int(np.prod(grid)), int(np.prod(tile)))


def pack_layout(codes, bits, tile=None, bit_planes=False):
    """Storage of `codes` in #tessera.layout<tile = ..., bit_planes = ...>."""
    tiles = _tile_order(codes, tile).astype(np.int64) & ((1 << bits) - 1)
    if not bit_planes:
        return pack(tiles.reshape(-1), bits)
    out = []
    for t in tiles:
        for p in range(bits):
            out.append(np.packbits(((t >> p) & 1).astype(np.uint8), bitorder="little"))
    return np.concatenate(out)


# --- Graph ops (the semantics of tessera.Graph's builders) -------------------

def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, np.float64)))


def silu(x):
    return x * sigmoid(x)


def gelu(x):
    """The tanh approximation, as Graph.gelu computes it."""
    x = np.asarray(x, np.float64)
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def softmax(x):
    """Along the last axis."""
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def rmsnorm(x, weight=None, eps=1e-6):
    x = np.asarray(x, np.float64)
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return y if weight is None else y * weight


def layernorm(x, weight=None, bias=None, eps=1e-5):
    x = np.asarray(x, np.float64)
    y = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def monarch_mm(x, w1, w2, out_features=None):
    """Y = X W^T for the Monarch matrix of factors w1 (k x q x p) and w2
    (l x s x r), as tessera.monarch_mm defines it: X (B x K, K <= k*p) is
    padded with zeros to k*p columns and Y truncated to `out_features`
    (default l*s) columns. Written as the four index equations, one loop
    per block."""
    x = np.asarray(x, dtype=np.float64)
    w1 = np.asarray(w1, dtype=np.float64)
    w2 = np.asarray(w2, dtype=np.float64)
    k, q, p = w1.shape
    l, s, r = w2.shape
    assert k * q == l * r and x.shape[1] <= k * p
    batch = x.shape[0]
    xp = np.zeros((batch, k * p))
    xp[:, :x.shape[1]] = x
    h = np.zeros((batch, k * q))
    for i in range(k):  # h[b, i*q + j] = sum_t X[b, i*p + t] w1[i, j, t]
        h[:, i * q:(i + 1) * q] = xp[:, i * p:(i + 1) * p] @ w1[i].T
    y = np.zeros((batch, l * s))
    for u in range(l):  # h2[b, u*r + v] = h[b, v*l + u]; Y[b, c*l + u] = o[b, u, c]
        h2 = h[:, [v * l + u for v in range(r)]]
        y[:, [c * l + u for c in range(s)]] = h2 @ w2[u].T
    return y[:, :out_features or l * s]


def bsr_mm(x, indptr, indices, blocks, n):
    """Y = X W^T for W (n x K) in block-sparse row form: block p of block
    row i covers W[i*R:(i+1)*R, indices[p]*C:(indices[p]+1)*C]."""
    x = np.asarray(x, dtype=np.float64)
    blocks = np.asarray(blocks, dtype=np.float64)
    rows, cols = blocks.shape[1:]
    y = np.zeros((x.shape[0], n))
    for i in range(n // rows):
        for p in range(int(indptr[i]), int(indptr[i + 1])):
            j = int(indices[p])
            y[:, i * rows:(i + 1) * rows] += x[:, j * cols:(j + 1) * cols] @ blocks[p].T
    return y
