"""Tessera: a compiler for low-bit and structured tensor programs.

    import numpy as np, tessera as ts
    q = ts.quantize(w, dtype="u3", group_size=128)       # codes, scales, zeros
    g = ts.Graph("layer")
    x = g.input("x", shape=("M", 4096))
    g.output(g.silu(g.mpmm(x, q)))
    fn = ts.compile(g)                                     # JIT, in process
    y = fn(x=np.random.randn(1, 4096).astype(np.float32))
    lib = ts.compile(g, output="liblayer.so")              # ahead of time

`tessera.reference` is the numpy reference of every op, independent of the
compiler; `tessera.importers` reads GPTQ, AWQ, ggml and NF4 weights; `tessera.monarch`
and `tessera.bsr` hold structured weights (Monarch projection, block pruning).
"""

from . import bsr, cuda, monarch, reference
from ._tessera import CompileError
from .dtypes import CodeType, code_type
from .graph import Graph, Value
from .quant import QuantizedTensor, dequantize, pack, quantize, unpack
from .runtime import Function, PrepackedWeights, compile, load, num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = ["CompileError", "CodeType", "Function", "Graph", "PrepackedWeights", "QuantizedTensor", "Value",
           "code_type", "compile", "dequantize", "load", "num_threads", "pack", "quantize",
           "bsr", "monarch", "reference", "set_num_threads", "unpack"]
