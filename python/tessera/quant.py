"""Quantized tensors: quantize, dequantize, pack and unpack.

quantize and dequantize run the compiler's own tessera.quantize and
tessera.dequantize ops (JIT-compiled once per shape and scheme); pack and
unpack call lib/Support through the extension. The rules are documented
with the ops (docs/dialect/TesseraDialect.md).
"""

from dataclasses import dataclass, field
import functools

import numpy as np

from . import _tessera
from .dtypes import ACTIVATION_TYPES, code_type


@dataclass
class QuantizedTensor:
    """N x K codes quantized in groups of `group_size` along K.

    codes: int array of code values (float codes as their bit patterns);
    scales: N x K/G array; zeros: None, integer zero points (int array) or
    float offsets (float array); codebook: optional table of 2^b values.
    """
    codes: np.ndarray
    scales: np.ndarray
    group_size: int
    dtype: object
    zeros: np.ndarray = None
    zero_dtype: object = None  # CodeType for integer zeros, "f32"/"f16"/"bf16" for offsets
    codebook: np.ndarray = None
    name: str = field(default=None, compare=False)
    # A permutation of K applied to x before the product (GPTQ act-order):
    # y = x[:, input_permutation] @ dequantize(self).T.
    input_permutation: np.ndarray = field(default=None, compare=False)

    def __post_init__(self):
        self.dtype = code_type(self.dtype)
        self.codes = np.asarray(self.codes)
        if self.codes.ndim != 2:
            raise ValueError(f"codes must be N x K, got shape {self.codes.shape}")
        n, k = self.codes.shape
        if self.group_size <= 0 or k % self.group_size:
            raise ValueError(f"group_size {self.group_size} must divide K = {k}")
        if np.asarray(self.scales).shape != (n, k // self.group_size):
            raise ValueError(f"scales must have shape {(n, k // self.group_size)}, "
                             f"got {np.asarray(self.scales).shape}")
        lo, hi = self.dtype.code_range() if not self.dtype.is_float else (0, (1 << self.dtype.bits) - 1)
        if self.codes.size and (self.codes.min() < lo or self.codes.max() > hi):
            raise ValueError(f"codes must lie in [{lo}, {hi}] for {self.dtype}")
        if self.zeros is not None:
            self.zeros = np.asarray(self.zeros)
            if self.zeros.shape != (n, k // self.group_size):
                raise ValueError(f"zeros must have shape {(n, k // self.group_size)}, "
                                 f"got {self.zeros.shape}")
            if self.zero_dtype is None:
                self.zero_dtype = (self.dtype if np.issubdtype(self.zeros.dtype, np.integer)
                                   else _float_name(self.zeros.dtype))
            if self.zero_dtype not in ACTIVATION_TYPES:
                self.zero_dtype = code_type(self.zero_dtype)
        if self.codebook is not None:
            self.codebook = np.asarray(self.codebook, dtype=np.float32)
            if self.codebook.shape != (1 << self.dtype.bits,):
                raise ValueError(f"a codebook for {self.dtype} needs {1 << self.dtype.bits} "
                                 f"entries, got shape {self.codebook.shape}")

    @property
    def shape(self):
        return self.codes.shape

    @property
    def zero_mode(self):
        if self.zeros is None:
            return "none"
        return "float" if isinstance(self.zero_dtype, str) else "int"

    @property
    def scale_dtype(self):
        return _float_name(np.asarray(self.scales).dtype)

    def packed(self):
        return pack(self.codes, self.dtype)

    def packed_zeros(self):
        if self.zero_mode == "int":
            return pack(self.zeros, self.zero_dtype)
        return self.zeros

    def dequantize(self):
        return dequantize(self)


def _float_name(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return "f32"
    if dtype == np.float16:
        return "f16"
    if dtype == np.uint16:
        return "bf16"
    raise ValueError(f"scales and float offsets must be float32, float16 or bfloat16 "
                     f"(as uint16), got {dtype}")


def pack(codes, dtype, tile=None, bit_planes=False):
    """Canonical (or `tile`/`bit_planes`) storage of `codes` as uint8."""
    t = code_type(dtype)
    codes = np.asarray(codes)
    return _tessera.pack(codes.astype(np.int32), t.bits, list(tile or []), bit_planes)


def unpack(packed, shape, dtype, tile=None, bit_planes=False):
    """Codes of `shape` from their storage."""
    t = code_type(dtype)
    return _tessera.unpack(np.asarray(packed, dtype=np.uint8), list(shape), t.bits,
                           t.signed, list(tile or []), bit_planes).astype(np.int64)


@functools.lru_cache(maxsize=64)
def _quantizer(n, k, group, ctype, scale_dtype, zero_dtype):
    ng = k // group
    types = [f"tensor<{n}x{k}x{ctype.mlir()}>", f"tensor<{n}x{ng}x{scale_dtype}>"]
    names = ["%q", "%s"]
    if zero_dtype is not None:
        zt = zero_dtype if isinstance(zero_dtype, str) else zero_dtype.mlir()
        types.append(f"tensor<{n}x{ng}x{zt}>")
        names.append("%z")
    text = f"""
func.func @quantize(%w: tensor<{n}x{k}xf32>) -> ({", ".join(types)}) {{
  {", ".join(names)} = tessera.quantize %w group_size {group} : tensor<{n}x{k}xf32> -> {", ".join(types)}
  return {", ".join(names)} : {", ".join(types)}
}}"""
    return _tessera.JitModule(text, "<tessera.quantize>")


def quantize(w, dtype="u4", group_size=128, zero=None, scale_dtype="f32"):
    """Quantizes an N x K float matrix group-wise along K.

    dtype: the code type. zero: "int" (asymmetric, integer zero point of the
    code type), "float" (asymmetric, float offset), "none" (symmetric absmax;
    signed integers or float formats). Default: "int" for unsigned integer
    codes, "none" otherwise. Returns a QuantizedTensor.
    """
    t = code_type(dtype)
    w = np.asarray(w, dtype=np.float32)
    if w.ndim != 2:
        raise ValueError(f"quantize takes an N x K matrix, got shape {w.shape}")
    n, k = w.shape
    if group_size is None:
        group_size = k
    if group_size <= 0 or k % group_size:
        raise ValueError(f"group_size {group_size} must divide K = {k}")
    if zero is None:
        zero = "int" if not t.is_float and not t.signed else "none"
    if scale_dtype not in ACTIVATION_TYPES:
        raise ValueError(f"scale_dtype must be f32, f16 or bf16, got {scale_dtype!r}")
    zero_dtype = {"int": t, "float": scale_dtype, "none": None}.get(zero, "?")
    if zero_dtype == "?":
        raise ValueError(f"zero must be 'int', 'float' or 'none', got {zero!r}")
    jit = _quantizer(n, k, group_size, t, scale_dtype, zero_dtype)
    outs = jit.call("quantize", [w])
    codes = unpack(outs[0], (n, k), t)
    zeros = None
    if zero == "int":
        zeros = unpack(outs[2], (n, k // group_size), t)
    elif zero == "float":
        zeros = outs[2]
    return QuantizedTensor(codes, outs[1], group_size, t, zeros, zero_dtype)


@functools.lru_cache(maxsize=64)
def _dequantizer(n, k, group, ctype, scale_dtype, zero_dtype, codebook):
    ng = k // group
    args = [f"%q: tensor<{n}x{k}x{ctype.mlir()}>", f"%s: tensor<{n}x{ng}x{scale_dtype}>"]
    extra = ""
    if zero_dtype is not None:
        zt = zero_dtype if isinstance(zero_dtype, str) else zero_dtype.mlir()
        args.append(f"%z: tensor<{n}x{ng}x{zt}>")
        extra += f" zeros %z : tensor<{n}x{ng}x{zt}>"
    if codebook:
        args.append(f"%cb: tensor<{1 << ctype.bits}xf32>")
        extra += f" codebook %cb : tensor<{1 << ctype.bits}xf32>"
    text = f"""
func.func @dequantize({", ".join(args)}) -> tensor<{n}x{k}xf32> {{
  %d = tessera.dequantize %q : tensor<{n}x{k}x{ctype.mlir()}> scales %s : tensor<{n}x{ng}x{scale_dtype}>{extra} group_size {group} -> tensor<{n}x{k}xf32>
  return %d : tensor<{n}x{k}xf32>
}}"""
    return _tessera.JitModule(text, "<tessera.dequantize>")


def dequantize(q):
    """The f32 matrix a QuantizedTensor stands for (tessera.dequantize)."""
    n, k = q.shape
    zero_dtype = None if q.zeros is None else q.zero_dtype
    jit = _dequantizer(n, k, q.group_size, q.dtype, q.scale_dtype, zero_dtype,
                       q.codebook is not None)
    args = [q.packed(), np.ascontiguousarray(q.scales)]
    if q.zeros is not None:
        args.append(q.packed_zeros())
    if q.codebook is not None:
        args.append(q.codebook)
    return jit.call("dequantize", args)[0]
