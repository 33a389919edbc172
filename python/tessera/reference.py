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
               codebook=None):
    """deq(n, k) of DESIGN.md 2.3, as float64 of shape N x K.

    zero_mode: "none" (s * v), "int" (s * (v - z)) or "float" (s * v + z);
    v is the code's integer value or codebook[code].
    """
    codes = np.asarray(codes).astype(np.int64)
    n, k = codes.shape
    assert k % group_size == 0, "group_size must divide K"
    if codebook is not None:
        values = np.asarray(codebook, dtype=np.float64)[codes]
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
         codebook=None, init=None):
    """Y = init + X @ deq(W)^T in float64; X is M x K, W is N x K."""
    w = dequantize(codes, scales, group_size, zeros, zero_mode, codebook)
    y = np.asarray(x, dtype=np.float64) @ w.T
    if init is not None:
        y = y + np.asarray(init, dtype=np.float64)
    return y


def mpmm_error_bound(x, codes, scales, group_size, zeros=None, zero_mode="none",
                     codebook=None):
    """A bound on |f32 result - exact| for an f32 accumulation over K terms.

    Sequential f32 summation of K products errs by at most about
    K * 2^-24 * sum_k |x * deq|; each dequantized weight and product adds a
    few roundings more. We allow (K + 4) * 2^-23 * sum_k |x * deq| + tiny.
    """
    w = dequantize(codes, scales, group_size, zeros, zero_mode, codebook)
    k = w.shape[1]
    magnitude = np.abs(np.asarray(x, dtype=np.float64)) @ np.abs(w).T
    return (k + 4) * 2.0 ** -23 * magnitude + 1e-30
