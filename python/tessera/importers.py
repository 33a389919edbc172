"""Importers of the quantized formats people already have, each mapped
exactly onto Tessera's codes, scales and zero points (QuantizedTensor).

All take the stored arrays as numpy arrays and return a QuantizedTensor of
the logical N x K weight (the PyTorch Linear layout), whose dequantization
equals the format's own dequantization.
"""

import numpy as np

from .quant import QuantizedTensor


def _bitstream(words, count, bits, axis):
    """Values of `bits` bits read LSB first from little-endian uint32 words
    laid along `axis` (the other axis is kept)."""
    words = np.asarray(words).astype(np.uint32)
    if axis == 1:
        return _bitstream(words.T, count, bits, 0).T
    raw = words.astype("<u4").view(np.uint8).reshape(words.shape[0], words.shape[1], 4)
    raw = raw.transpose(1, 0, 2).reshape(words.shape[1], -1)        # per column, bytes in order
    bitmap = np.unpackbits(raw, axis=1, bitorder="little")[:, :count * bits]
    vals = bitmap.reshape(words.shape[1], count, bits).astype(np.int64)
    return (vals << np.arange(bits)).sum(axis=2).T                  # count x columns


def gptq(qweight, qzeros, scales, g_idx=None, bits=4, group_size=128):
    """AutoGPTQ / exllama tensors: qweight int32 [K*bits/32, N] (values along
    K, LSB first), qzeros int32 [K/G, N*bits/32] (along N) holding z - 1,
    scales f16 [K/G, N], g_idx int32 [K] (act-order). With act-order the K
    axis is permuted so that groups are contiguous; the permutation is kept
    in `input_permutation` and applied to x by Graph.mpmm."""
    qweight, qzeros, scales = np.asarray(qweight), np.asarray(qzeros), np.asarray(scales)
    n = qweight.shape[1]
    k = qweight.shape[0] * 32 // bits
    num_groups = scales.shape[0]
    codes = _bitstream(qweight, k, bits, axis=0).T                  # N x K
    zeros = _bitstream(qzeros, n, bits, axis=1) + 1                 # K/G x N, stored z - 1
    perm = None
    if g_idx is not None:
        g_idx = np.asarray(g_idx).astype(np.int64)
        if g_idx.shape != (k,):
            raise ValueError(f"g_idx must have {k} entries, got {g_idx.shape}")
        counts = np.bincount(g_idx, minlength=num_groups)
        if np.any(counts != k // num_groups):
            raise ValueError("every group of g_idx must have K / num_groups channels")
        perm = np.argsort(g_idx, kind="stable")
        if np.array_equal(perm, np.arange(k)):
            perm = None
        else:
            codes = codes[:, perm]
    group = k // num_groups
    zero_bits = bits if zeros.max(initial=0) < (1 << bits) else 8
    if zeros.max(initial=0) > 255:
        raise ValueError("a zero point of 256 does not fit 8 bits")
    q = QuantizedTensor(codes, scales.T.copy(), group, f"u{bits}", zeros.T.copy(),
                        f"u{zero_bits}")
    q.input_permutation = perm
    return q


AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]  # nibble i holds channel AWQ_ORDER[i]


def _awq_unpack(words):
    words = np.asarray(words).astype(np.uint32)
    rows, cols = words.shape
    nibbles = (words[:, :, None] >> (4 * np.arange(8, dtype=np.uint32))) & 0xF
    out = np.empty((rows, cols * 8), np.int64)
    for i, channel in enumerate(AWQ_ORDER):
        out[:, channel::8] = nibbles[:, :, i]
    return out


def awq(qweight, qzeros, scales, group_size=128):
    """AutoAWQ GEMM tensors (4-bit): qweight int32 [K, N/8] and qzeros int32
    [K/G, N/8], eight channels per word in the order 0,2,4,6,1,3,5,7;
    scales f16 [K/G, N]."""
    codes = _awq_unpack(qweight).T
    zeros = _awq_unpack(qzeros).T
    k = codes.shape[1]
    return QuantizedTensor(codes, np.asarray(scales).T.copy(), k // np.asarray(scales).shape[0],
                           "u4", zeros, "u4")


NF4_TABLE = np.array([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=np.float32)


def nf4(packed, absmax, shape, blocksize=64):
    """bitsandbytes NF4: uint8 bytes holding two codes each (the first in the
    high nibble), one f32 absmax per block of `blocksize` consecutive values
    of the row-major weight; blocks must not cross rows."""
    n, k = shape
    if k % blocksize:
        raise ValueError(f"K = {k} must be a multiple of the block size {blocksize}")
    packed = np.asarray(packed, dtype=np.uint8).reshape(-1)
    codes = np.empty(packed.size * 2, np.int64)
    codes[0::2] = packed >> 4
    codes[1::2] = packed & 0xF
    codes = codes[:n * k].reshape(n, k)
    scales = np.asarray(absmax, dtype=np.float32).reshape(n, k // blocksize)
    return QuantizedTensor(codes, scales, blocksize, "u4", codebook=NF4_TABLE)


# --- ggml ---------------------------------------------------------------------

def _f16(raw):
    return np.ascontiguousarray(raw).view(np.float16).astype(np.float32)


def _blocks(data, shape, block_bytes, block_values):
    n, k = shape
    if k % block_values:
        raise ValueError(f"K = {k} must be a multiple of {block_values}")
    data = np.asarray(data, dtype=np.uint8).reshape(-1)
    count = n * k // block_values
    if data.size != count * block_bytes:
        raise ValueError(f"expected {count * block_bytes} bytes of blocks, got {data.size}")
    return data.reshape(count, block_bytes)


def ggml(data, shape, kind):
    """ggml tensor data (raw bytes of its blocks, row-major) of a logical
    shape (N, K), for kind in q4_0, q4_1, q8_0, q2_K, q4_K, q6_K, tq2_0."""
    n, k = shape
    if kind == "q4_0":   # {f16 d; u8 qs[16]}: d * (q - 8)
        b = _blocks(data, shape, 18, 32)
        qs = b[:, 2:]
        codes = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.int64)
        d = _f16(b[:, :2]).reshape(n, k // 32)
        return QuantizedTensor(codes.reshape(n, k), d.astype(np.float16), 32, "u4",
                               np.full((n, k // 32), 8), "u4")
    if kind == "q4_1":   # {f16 d; f16 m; u8 qs[16]}: d * q + m
        b = _blocks(data, shape, 20, 32)
        qs = b[:, 4:]
        codes = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.int64)
        d = _f16(b[:, :2]).reshape(n, k // 32).astype(np.float16)
        m = _f16(b[:, 2:4]).reshape(n, k // 32).astype(np.float16)
        return QuantizedTensor(codes.reshape(n, k), d, 32, "u4", m, "f16")
    if kind == "q8_0":   # {f16 d; i8 qs[32]}: d * q
        b = _blocks(data, shape, 34, 32)
        codes = b[:, 2:].view(np.int8).astype(np.int64)
        d = _f16(b[:, :2]).reshape(n, k // 32).astype(np.float16)
        return QuantizedTensor(codes.reshape(n, k), d, 32, "s8")
    if kind == "q2_K":   # {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}
        b = _blocks(data, shape, 84, 256)
        sc, qs = b[:, :16], b[:, 16:80]
        d, dmin = _f16(b[:, 80:82]), _f16(b[:, 82:84])
        codes = np.empty((b.shape[0], 256), np.int64)
        for half in range(2):
            for j in range(4):
                for t in range(2):
                    e = 128 * half + 32 * j + 16 * t
                    codes[:, e:e + 16] = (qs[:, 32 * half + 16 * t:32 * half + 16 * t + 16] >> (2 * j)) & 3
        # sub-block s = e // 16 uses scales[s]: value = d*(sc&15)*q - dmin*(sc>>4)
        scale = d * (sc & 0xF).astype(np.float32)
        offset = -(dmin * (sc >> 4).astype(np.float32))
        return QuantizedTensor(codes.reshape(n, k), scale.reshape(n, k // 16), 16, "u2",
                               offset.reshape(n, k // 16), "f32")
    if kind == "q4_K":   # {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}
        b = _blocks(data, shape, 144, 256)
        d, dmin = _f16(b[:, 0:2]), _f16(b[:, 2:4])
        s12, qs = b[:, 4:16].astype(np.int64), b[:, 16:]
        sc = np.empty((b.shape[0], 8), np.int64)
        mn = np.empty((b.shape[0], 8), np.int64)
        for j in range(8):
            if j < 4:
                sc[:, j], mn[:, j] = s12[:, j] & 63, s12[:, j + 4] & 63
            else:
                sc[:, j] = (s12[:, j + 4] & 0xF) | ((s12[:, j - 4] >> 6) << 4)
                mn[:, j] = (s12[:, j + 4] >> 4) | ((s12[:, j] >> 6) << 4)
        codes = np.empty((b.shape[0], 256), np.int64)
        for c in range(4):
            q = qs[:, 32 * c:32 * c + 32]
            codes[:, 64 * c:64 * c + 32] = q & 0xF
            codes[:, 64 * c + 32:64 * c + 64] = q >> 4
        scale = d * sc.astype(np.float32)
        offset = -(dmin * mn.astype(np.float32))
        return QuantizedTensor(codes.reshape(n, k), scale.reshape(n, k // 32), 32, "u4",
                               offset.reshape(n, k // 32), "f32")
    if kind == "q6_K":   # {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: d*sc*(q - 32)
        b = _blocks(data, shape, 210, 256)
        ql, qh = b[:, :128].astype(np.int64), b[:, 128:192].astype(np.int64)
        sc = b[:, 192:208].view(np.int8).astype(np.float32)
        d = _f16(b[:, 208:210])
        codes = np.empty((b.shape[0], 256), np.int64)
        for half in range(2):
            l_, h_ = ql[:, 64 * half:64 * half + 64], qh[:, 32 * half:32 * half + 32]
            y = 128 * half
            codes[:, y:y + 32] = (l_[:, :32] & 0xF) | (((h_ >> 0) & 3) << 4)
            codes[:, y + 32:y + 64] = (l_[:, 32:] & 0xF) | (((h_ >> 2) & 3) << 4)
            codes[:, y + 64:y + 96] = (l_[:, :32] >> 4) | (((h_ >> 4) & 3) << 4)
            codes[:, y + 96:y + 128] = (l_[:, 32:] >> 4) | (((h_ >> 6) & 3) << 4)
        scale = d * sc
        return QuantizedTensor(codes.reshape(n, k), scale.reshape(n, k // 16), 16, "u6",
                               np.full((n, k // 16), 32), "u6")
    if kind == "tq2_0":  # {u8 qs[64]; f16 d}: d * (q - 1), q in {0, 1, 2}
        b = _blocks(data, shape, 66, 256)
        qs, d = b[:, :64], _f16(b[:, 64:66])
        codes = np.empty((b.shape[0], 256), np.int64)
        y = 0
        for j in range(0, 64, 32):
            for l in range(4):
                codes[:, y:y + 32] = (qs[:, j:j + 32] >> (2 * l)) & 3
                y += 32
        return QuantizedTensor(codes.reshape(n, k), d.reshape(n, k // 256).astype(np.float16),
                               256, "u2", np.ones((n, k // 256), np.int64), "u2")
    raise ValueError(f"unknown ggml kind {kind!r}: q4_0, q4_1, q8_0, q2_K, q4_K, q6_K, tq2_0")
