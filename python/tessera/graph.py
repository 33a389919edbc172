"""A builder of model graphs that emits Tessera MLIR.

    g = ts.Graph("mlp")
    x = g.input("x", shape=("M", 4096), dtype="f32")   # "M" is dynamic
    h = g.silu(g.mpmm(x, q_gate)) * g.mpmm(x, q_up)
    g.output(g.mpmm(h, q_down))
    print(g.mlir())

Dimensions are ints (static) or names (dynamic); a name stands for the same
size wherever it appears. Weights given as numpy arrays or QuantizedTensors
become bound parameters: extra function arguments that the compiled
function fills in itself (or, with constant=True, constants in the IR).
Elementwise ops, activations and norms are ordinary linalg/arith/math ops.
"""

import re

import numpy as np

from .dtypes import activation_type
from .quant import QuantizedTensor

def _type(shape, dtype):
    dims = "x".join("?" if isinstance(d, str) else str(d) for d in shape)
    return f"tensor<{dims}x{dtype}>" if shape else f"tensor<{dtype}>"


def _float_literal(v):
    v = float(v)
    if np.isnan(v) or np.isinf(v):
        raise ValueError("constants must be finite")
    return f"{v:.17e}"  # always with a '.' and an exponent, as MLIR wants


def _dense(array, elem):
    """A dense attribute literal for a numpy array."""
    a = np.asarray(array)
    if elem in ("f32", "f16", "bf16"):
        fmt = _float_literal
        if elem == "bf16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
    else:
        fmt = lambda v: str(int(v))

    def rec(x):
        if x.ndim == 0:
            return fmt(x)
        return "[" + ", ".join(rec(y) for y in x) + "]"
    return f"dense<{rec(a)}>"


class Value:
    """A tensor in a Graph."""

    def __init__(self, graph, ssa, shape, dtype):
        self.graph, self.ssa, self.shape, self.dtype = graph, ssa, tuple(shape), dtype

    @property
    def type(self):
        return _type(self.shape, self.dtype)

    def __add__(self, other):
        return self.graph.add(self, other)

    def __radd__(self, other):
        return self.graph.add(self, other)

    def __sub__(self, other):
        return self.graph.sub(self, other)

    def __rsub__(self, other):
        return self.graph.sub(self.graph._as_value(other, self), self)

    def __mul__(self, other):
        return self.graph.mul(self, other)

    def __rmul__(self, other):
        return self.graph.mul(self, other)

    def __truediv__(self, other):
        return self.graph.div(self, other)

    def __matmul__(self, other):
        return self.graph.matmul(self, other)

    def __repr__(self):
        return f"Value({self.ssa}: {self.type})"


class Graph:
    def __init__(self, name="main"):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"graph name {name!r} must be an identifier")
        self.name = name
        self._inputs = []   # (Value, name)
        self._params = []   # (ssa, type, name, array)
        self._body = []
        self._outputs = []  # (Value, name)
        self._count = 0
        self._dims = {}     # dimension name -> (ssa of an input, axis)

    # --- plumbing -------------------------------------------------------------

    def _ssa(self, hint="v"):
        self._count += 1
        return f"%{hint}{self._count}"

    def _emit(self, line):
        self._body.append("  " + line)

    def _check(self, v):
        if not isinstance(v, Value) or v.graph is not self:
            raise TypeError(f"expected a Value of graph {self.name!r}, got {v!r}")
        return v

    def _dim_value(self, d):
        """An index SSA value for dimension d (int or name)."""
        if isinstance(d, str):
            src, axis = self._dims[d]
            c, r = self._ssa("c"), self._ssa("d")
            self._emit(f"{c} = arith.constant {axis} : index")
            src_type = next(v.type for v, _ in self._inputs if v.ssa == src)
            self._emit(f"{r} = tensor.dim {src}, {c} : {src_type}")
            return r
        c = self._ssa("c")
        self._emit(f"{c} = arith.constant {d} : index")
        return c

    def _empty(self, shape, dtype):
        dyn = [self._dim_value(d) for d in shape if isinstance(d, str)]
        r = self._ssa("e")
        self._emit(f"{r} = tensor.empty({', '.join(dyn)}) : {_type(shape, dtype)}")
        return r

    def _filled(self, shape, dtype, value):
        e = self._empty(shape, dtype)
        c, r = self._ssa("c"), self._ssa("f")
        self._emit(f"{c} = arith.constant {_float_literal(value)} : {dtype}")
        self._emit(f"{r} = linalg.fill ins({c} : {dtype}) outs({e} : {_type(shape, dtype)}) -> {_type(shape, dtype)}")
        return r

    def _param(self, array, mlir_type, name, constant=False, elem=None):
        """A bound parameter (function argument filled at call time) or a
        constant; returns its SSA name."""
        if constant:
            r = self._ssa("w")
            self._emit(f"{r} = arith.constant {_dense(array, elem)} : {mlir_type}")
            return r
        ssa = f"%p{len(self._params)}"
        self._params.append((ssa, mlir_type, name, array))
        return ssa

    def _as_value(self, x, like):
        if isinstance(x, Value):
            return self._check(x)
        a = np.asarray(x, dtype=np.float32)
        if a.ndim == 0:
            return a
        ssa = self._param(a, _type(a.shape, "f32"), f"const{len(self._params)}")
        return Value(self, ssa, a.shape, "f32")

    def _generic(self, inputs, out_shape, out_dtype, body, reduction_dims=(),
                 init=None, maps=None):
        """A linalg.generic over out_shape (+ reduction dims appended);
        `body(args)` returns the yielded SSA name given the block arguments."""
        rank = len(out_shape) + len(reduction_dims)
        dims = [f"d{i}" for i in range(rank)]
        ins = [i for i in inputs if isinstance(i, Value)]
        if maps is None:
            maps = []
            for v in ins:
                off = len(out_shape) - len(v.shape)
                maps.append(f"affine_map<({', '.join(dims)}) -> ({', '.join(dims[off:len(out_shape)])})>")
        out_map = f"affine_map<({', '.join(dims)}) -> ({', '.join(dims[:len(out_shape)])})>"
        iters = ", ".join(['"parallel"'] * len(out_shape) + ['"reduction"'] * len(reduction_dims))
        out = init or self._empty(out_shape, out_dtype)
        r = self._ssa()
        args = [self._ssa("a") for _ in ins] + [self._ssa("o")]
        ins_text = (f" ins({', '.join(v.ssa for v in ins)} : {', '.join(v.type for v in ins)})"
                    if ins else "")
        self._emit(f"{r} = linalg.generic {{indexing_maps = [{', '.join(maps + [out_map])}], "
                   f"iterator_types = [{iters}]}}{ins_text} outs({out} : {_type(out_shape, out_dtype)}) {{")
        sig = ", ".join(f"{a}: {v.dtype}" for a, v in zip(args, ins)) + \
              (", " if ins else "") + f"{args[-1]}: {out_dtype}"
        self._emit(f"^bb0({sig}):")
        lines = []
        result = body(args, lines)
        for line in lines:
            self._emit("  " + line)
        self._emit(f"  linalg.yield {result} : {out_dtype}")
        self._emit(f"}} -> {_type(out_shape, out_dtype)}")
        return Value(self, r, out_shape, out_dtype)

    def _scalar_op(self, op, a, b, dtype, lines):
        r = self._ssa("s")
        lines.append(f"{r} = {op} {a}, {b} : {dtype}")
        return r

    def _const(self, value, dtype, lines):
        r = self._ssa("k")
        lines.append(f"{r} = arith.constant {_float_literal(value)} : {dtype}")
        return r

    # --- inputs and outputs ----------------------------------------------------

    def input(self, name, shape, dtype="f32"):
        """A run-time input. Dimensions are ints or names (dynamic)."""
        activation_type(dtype)
        if any(n == name for _, n in self._inputs):
            raise ValueError(f"input {name!r} already exists")
        ssa = f"%{re.sub(r'[^A-Za-z0-9_]', '_', name)}_in"
        v = Value(self, ssa, shape, dtype)
        for axis, d in enumerate(shape):
            if isinstance(d, str):
                self._dims.setdefault(d, (ssa, axis))
            elif not isinstance(d, (int, np.integer)) or d < 0:
                raise ValueError(f"dimension {d!r} of input {name!r} must be a size or a name")
        self._inputs.append((v, name))
        return v

    def output(self, *values, names=None):
        for i, v in enumerate(values):
            self._check(v)
            self._outputs.append((v, names[i] if names else f"out{len(self._outputs)}"))

    # --- matrix products -------------------------------------------------------

    def mpmm(self, x, q, constant=False, name=None):
        """x (M x K) times the transpose of a QuantizedTensor (N x K)."""
        self._check(x)
        if not isinstance(q, QuantizedTensor):
            raise TypeError(f"mpmm takes a QuantizedTensor, got {type(q).__name__}")
        n, k = q.shape
        if len(x.shape) != 2 or x.shape[1] != k:
            raise ValueError(f"mpmm: x of shape {x.shape} does not match weights of K = {k}")
        name = name or q.name or f"w{len(self._params)}"
        if q.input_permutation is not None:
            x = self._gather_columns(x, q.input_permutation, f"{name}.permutation")
        ng = k // q.group_size
        ct = q.dtype.mlir()
        if constant and q.dtype.is_float and not q.dtype.builtin:
            raise ValueError("constant weights of Tessera float formats are not "
                             "supported; pass them at run time (constant=False)")
        codes = q.codes if constant else q.packed()
        w = self._param(codes, f"tensor<{n}x{k}x{ct}>", f"{name}.codes", constant, "int")
        s = self._param(np.ascontiguousarray(q.scales), f"tensor<{n}x{ng}x{q.scale_dtype}>",
                        f"{name}.scales", constant, q.scale_dtype)
        extra = ""
        if q.zeros is not None:
            zt = q.zero_dtype if isinstance(q.zero_dtype, str) else q.zero_dtype.mlir()
            zarr = q.zeros if constant or q.zero_mode == "float" else q.packed_zeros()
            z = self._param(zarr, f"tensor<{n}x{ng}x{zt}>", f"{name}.zeros", constant,
                            zt if q.zero_mode == "float" else "int")
            extra += f" zeros {z} : tensor<{n}x{ng}x{zt}>"
        if q.codebook is not None:
            cb = self._param(q.codebook, f"tensor<{1 << q.dtype.bits}xf32>",
                             f"{name}.codebook", constant, "f32")
            extra += f" codebook {cb} : tensor<{1 << q.dtype.bits}xf32>"
        out_shape = (x.shape[0], n)
        init = self._filled(out_shape, x.dtype, 0.0)
        r = self._ssa("y")
        self._emit(f"{r} = tessera.mpmm {x.ssa}, {w} : {x.type}, tensor<{n}x{k}x{ct}> "
                   f"scales {s} : tensor<{n}x{ng}x{q.scale_dtype}>{extra} "
                   f"group_size {q.group_size} outs {init} : {_type(out_shape, x.dtype)}")
        return Value(self, r, out_shape, x.dtype)

    def _gather_columns(self, x, perm, name):
        """x[:, perm] for an int permutation bound as a parameter."""
        perm = np.asarray(perm, dtype=np.int64)
        p = self._param(perm, f"tensor<{perm.size}xi64>", name)
        pv = Value(self, p, perm.shape, "i64")
        rank = len(x.shape)

        def body(args, lines):
            i, j = self._ssa("i"), self._ssa("j")
            lines.append(f"{i} = linalg.index 0 : index")
            lines.append(f"{j} = arith.index_cast {args[0]} : i64 to index")
            r = self._ssa("g")
            lines.append(f"{r} = tensor.extract {x.ssa}[{i}, {j}] : {x.type}")
            return r
        maps = [f"affine_map<(d0, d1) -> (d1)>"]
        return self._generic([pv], x.shape, x.dtype, body, maps=maps)

    def matmul(self, a, b):
        """a (M x K) @ b (K x N); b a Value or a numpy array (a weight)."""
        self._check(a)
        if not isinstance(b, Value):
            b = np.asarray(b, dtype=np.float32)
            ssa = self._param(b, _type(b.shape, "f32"), f"matmul{len(self._params)}")
            b = Value(self, ssa, b.shape, "f32")
        if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not compose")
        out_shape = (a.shape[0], b.shape[1])
        init = self._filled(out_shape, "f32", 0.0)
        r = self._ssa("mm")
        self._emit(f"{r} = linalg.matmul ins({a.ssa}, {b.ssa} : {a.type}, {b.type}) "
                   f"outs({init} : {_type(out_shape, 'f32')}) -> {_type(out_shape, 'f32')}")
        return Value(self, r, out_shape, "f32")

    def _check_weights(self, op, x, w, cls):
        """(N, K) of structured weights `w` (a `cls`) that x (M x K) multiplies."""
        self._check(x)
        if not isinstance(w, cls):
            raise TypeError(f"{op} takes a {cls.__name__}, got {type(w).__name__}")
        n, k = w.shape
        if len(x.shape) != 2 or x.shape[1] != k:
            raise ValueError(f"{op}: x of shape {x.shape} does not match the weights of K = {k}")
        return n, k

    def monarch_mm(self, x, m, constant=False, name=None):
        """x (B x K) times the transpose of a tessera.monarch.MonarchMatrix
        (N x K): tessera.monarch_mm, factors bound as parameters (or
        compiled in as constants)."""
        from .monarch import MonarchMatrix
        n, k = self._check_weights("monarch_mm", x, m, MonarchMatrix)
        name = name or m.name or f"monarch{len(self._params)}"
        t1, t2 = _type(m.w1.shape, "f32"), _type(m.w2.shape, "f32")
        w1 = self._param(m.w1, t1, f"{name}.w1", constant, "f32")
        w2 = self._param(m.w2, t2, f"{name}.w2", constant, "f32")
        out_shape = (x.shape[0], n)
        init = self._filled(out_shape, x.dtype, 0.0)
        r = self._ssa("y")
        self._emit(f"{r} = tessera.monarch_mm {x.ssa}, {w1}, {w2} : {x.type}, {t1}, {t2} "
                   f"outs {init} : {_type(out_shape, x.dtype)}")
        return Value(self, r, out_shape, x.dtype)

    def bsr_mm(self, x, w, constant_pattern=False, constant=False, name=None):
        """x (M x K) times the transpose of a tessera.bsr.BsrMatrix (N x K):
        tessera.bsr_mm. The pattern (indptr, indices) is a run-time parameter
        whose number of blocks may change between calls, or with
        `constant_pattern` (or `constant`) a compile-time constant, which
        gets a kernel specialized to it; `constant` also compiles the blocks
        in."""
        from .bsr import BsrMatrix
        n, k = self._check_weights("bsr_mm", x, w, BsrMatrix)
        name = name or w.name or f"bsr{len(self._params)}"
        rows, cols = w.block
        pattern_const = constant or constant_pattern
        nnz = w.nnz_blocks if pattern_const else "?"
        tp = f"tensor<{w.indptr.size}xi32>"
        ti = f"tensor<{nnz}xi32>"
        tb = f"tensor<{w.nnz_blocks if constant else '?'}x{rows}x{cols}xf32>"
        indptr = self._param(w.indptr, tp, f"{name}.indptr", pattern_const, "int")
        indices = self._param(w.indices, ti, f"{name}.indices", pattern_const, "int")
        blocks = self._param(w.blocks, tb, f"{name}.blocks", constant, "f32")
        out_shape = (x.shape[0], n)
        init = self._filled(out_shape, x.dtype, 0.0)
        r = self._ssa("y")
        self._emit(f"{r} = tessera.bsr_mm {x.ssa}, {indptr}, {indices}, {blocks} : "
                   f"{x.type}, {tp}, {ti}, {tb} outs {init} : {_type(out_shape, x.dtype)}")
        return Value(self, r, out_shape, x.dtype)

    # --- elementwise -------------------------------------------------------------

    def _binary(self, op, a, b):
        a = self._check(a) if isinstance(a, Value) else self._as_value(a, b)
        b = self._as_value(b, a)
        if isinstance(a, np.ndarray):
            a, b = b, a  # only reached for scalars on the left of commutative ops
        if isinstance(b, Value):
            if a.dtype != b.dtype:
                raise ValueError(f"{op}: dtypes {a.dtype} and {b.dtype} differ")
            tail = a.shape[len(a.shape) - len(b.shape):]
            if len(b.shape) > len(a.shape) or tuple(b.shape) != tuple(tail):
                raise ValueError(f"{op}: shape {b.shape} does not broadcast to {a.shape} "
                                 "(it must equal the trailing dimensions)")

            def body(args, lines):
                return self._scalar_op(op, args[0], args[1], a.dtype, lines)
            return self._generic([a, b], a.shape, a.dtype, body)
        scalar = float(b)

        def body(args, lines):
            return self._scalar_op(op, args[0], self._const(scalar, a.dtype, lines), a.dtype, lines)
        return self._generic([a], a.shape, a.dtype, body)

    def add(self, a, b):
        return self._binary("arith.addf", a, b)

    def sub(self, a, b):
        return self._binary("arith.subf", a, b)

    def mul(self, a, b):
        return self._binary("arith.mulf", a, b)

    def div(self, a, b):
        return self._binary("arith.divf", a, b)

    def _unary(self, x, fn):
        self._check(x)
        return self._generic([x], x.shape, x.dtype, lambda args, lines: fn(args[0], x.dtype, lines))

    def relu(self, x):
        return self._unary(x, lambda v, t, lines: self._scalar_op(
            "arith.maximumf", v, self._const(0.0, t, lines), t, lines))

    def _sigmoid(self, v, t, lines):
        neg = self._ssa("s")
        lines.append(f"{neg} = arith.negf {v} : {t}")
        e = self._ssa("s")
        lines.append(f"{e} = math.exp {neg} : {t}")
        one = self._const(1.0, t, lines)
        den = self._scalar_op("arith.addf", one, e, t, lines)
        return self._scalar_op("arith.divf", one, den, t, lines)

    def sigmoid(self, x):
        return self._unary(x, self._sigmoid)

    def silu(self, x):
        """x * sigmoid(x)."""
        return self._unary(x, lambda v, t, lines: self._scalar_op(
            "arith.mulf", v, self._sigmoid(v, t, lines), t, lines))

    def tanh(self, x):
        def fn(v, t, lines):
            r = self._ssa("s")
            lines.append(f"{r} = math.tanh {v} : {t}")
            return r
        return self._unary(x, fn)

    def gelu(self, x):
        """The tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
        def fn(v, t, lines):
            x3 = self._scalar_op("arith.mulf", v, self._scalar_op("arith.mulf", v, v, t, lines), t, lines)
            inner = self._scalar_op("arith.addf", v, self._scalar_op(
                "arith.mulf", self._const(0.044715, t, lines), x3, t, lines), t, lines)
            inner = self._scalar_op("arith.mulf", self._const(0.7978845608028654, t, lines), inner, t, lines)
            th = self._ssa("s")
            lines.append(f"{th} = math.tanh {inner} : {t}")
            one_plus = self._scalar_op("arith.addf", self._const(1.0, t, lines), th, t, lines)
            half_x = self._scalar_op("arith.mulf", self._const(0.5, t, lines), v, t, lines)
            return self._scalar_op("arith.mulf", half_x, one_plus, t, lines)
        return self._unary(x, fn)

    # --- reductions along the last axis ------------------------------------------

    def _reduce_last(self, x, init_value, combine):
        """A reduction of x over its last axis to shape x.shape[:-1]."""
        out_shape = x.shape[:-1]
        rank = len(x.shape)
        dims = [f"d{i}" for i in range(rank)]
        maps = [f"affine_map<({', '.join(dims)}) -> ({', '.join(dims)})>"]
        init = self._filled(out_shape, x.dtype, init_value)
        return self._generic([x], out_shape, x.dtype,
                             lambda args, lines: combine(args[0], args[1], x.dtype, lines),
                             reduction_dims=(x.shape[-1],), init=init, maps=maps)

    def _with_row(self, x, row, fn):
        """Elementwise over x with a per-row value (x.shape[:-1])."""
        rank = len(x.shape)
        dims = [f"d{i}" for i in range(rank)]
        maps = [f"affine_map<({', '.join(dims)}) -> ({', '.join(dims)})>",
                f"affine_map<({', '.join(dims)}) -> ({', '.join(dims[:-1])})>"]
        return self._generic([x, row], x.shape, x.dtype,
                             lambda args, lines: fn(args[0], args[1], x.dtype, lines), maps=maps)

    def softmax(self, x):
        """Softmax along the last axis (max-subtracted)."""
        self._check(x)
        mx = self._reduce_last(x, -3.0e38, lambda v, acc, t, lines: self._scalar_op(
            "arith.maximumf", acc, v, t, lines))

        def shifted_exp(v, m, t, lines):
            d = self._scalar_op("arith.subf", v, m, t, lines)
            r = self._ssa("s")
            lines.append(f"{r} = math.exp {d} : {t}")
            return r
        e = self._with_row(x, mx, shifted_exp)
        total = self._reduce_last(e, 0.0, lambda v, acc, t, lines: self._scalar_op(
            "arith.addf", acc, v, t, lines))
        return self._with_row(e, total, lambda v, s, t, lines: self._scalar_op(
            "arith.divf", v, s, t, lines))

    def _mean_last(self, x, square=False):
        n = x.shape[-1]
        if isinstance(n, str):
            raise ValueError("norms need a static last dimension")

        def combine(v, acc, t, lines):
            if square:
                v = self._scalar_op("arith.mulf", v, v, t, lines)
            return self._scalar_op("arith.addf", acc, v, t, lines)
        total = self._reduce_last(x, 0.0, combine)
        return self._generic([total], total.shape, x.dtype, lambda args, lines: self._scalar_op(
            "arith.divf", args[0], self._const(float(n), x.dtype, lines), x.dtype, lines))

    def rmsnorm(self, x, weight=None, eps=1e-6):
        """x / sqrt(mean(x^2) + eps) * weight (along the last axis)."""
        self._check(x)
        ms = self._mean_last(x, square=True)

        def norm(v, m, t, lines):
            r = self._ssa("s")
            lines.append(f"{r} = math.rsqrt {self._scalar_op('arith.addf', m, self._const(eps, t, lines), t, lines)} : {t}")
            return self._scalar_op("arith.mulf", v, r, t, lines)
        y = self._with_row(x, ms, norm)
        return y if weight is None else self.mul(y, weight)

    def layernorm(self, x, weight=None, bias=None, eps=1e-5):
        """(x - mean) / sqrt(var + eps) * weight + bias (along the last axis)."""
        self._check(x)
        mean = self._mean_last(x)
        centered = self._with_row(x, mean, lambda v, m, t, lines: self._scalar_op(
            "arith.subf", v, m, t, lines))
        var = self._mean_last(centered, square=True)

        def norm(v, s, t, lines):
            r = self._ssa("s")
            lines.append(f"{r} = math.rsqrt {self._scalar_op('arith.addf', s, self._const(eps, t, lines), t, lines)} : {t}")
            return self._scalar_op("arith.mulf", v, r, t, lines)
        y = self._with_row(centered, var, norm)
        if weight is not None:
            y = self.mul(y, weight)
        if bias is not None:
            y = self.add(y, bias)
        return y

    # --- shapes --------------------------------------------------------------------

    def transpose(self, x, perm):
        self._check(x)
        perm = list(perm)
        if sorted(perm) != list(range(len(x.shape))):
            raise ValueError(f"transpose: {perm} is not a permutation of {len(x.shape)} axes")
        out_shape = tuple(x.shape[p] for p in perm)
        out = self._empty(out_shape, x.dtype)
        r = self._ssa("t")
        self._emit(f"{r} = linalg.transpose ins({x.ssa} : {x.type}) outs({out} : "
                   f"{_type(out_shape, x.dtype)}) permutation = [{', '.join(map(str, perm))}]")
        return Value(self, r, out_shape, x.dtype)

    def reshape(self, x, shape):
        """A row-major reshape; dimensions are ints or names of known sizes."""
        self._check(x)
        shape = tuple(shape)
        static_in = [d for d in x.shape if not isinstance(d, str)]
        static_out = [d for d in shape if not isinstance(d, str)]
        if sorted(d for d in x.shape if isinstance(d, str)) != sorted(d for d in shape if isinstance(d, str)) \
                or np.prod(static_in) != np.prod(static_out):
            raise ValueError(f"reshape: {x.shape} and {shape} do not have the same size")
        dims = [self._dim_value(d) for d in shape]
        s = self._ssa("shape")
        self._emit(f"{s} = tensor.from_elements {', '.join(dims)} : tensor<{len(shape)}xindex>")
        r = self._ssa("r")
        self._emit(f"{r} = tensor.reshape {x.ssa}({s}) : ({x.type}, tensor<{len(shape)}xindex>) -> {_type(shape, x.dtype)}")
        return Value(self, r, shape, x.dtype)

    def concat(self, values, axis=-1):
        """Concatenation along `axis` (whose sizes must be static)."""
        values = [self._check(v) for v in values]
        rank = len(values[0].shape)
        axis = axis % rank
        for v in values:
            if len(v.shape) != rank or v.dtype != values[0].dtype or any(
                    v.shape[i] != values[0].shape[i] for i in range(rank) if i != axis):
                raise ValueError("concat: shapes must agree except along the axis")
            if isinstance(v.shape[axis], str):
                raise ValueError("concat: sizes along the axis must be static")
        total = sum(v.shape[axis] for v in values)
        out_shape = tuple(total if i == axis else values[0].shape[i] for i in range(rank))
        acc = self._empty(out_shape, values[0].dtype)
        offset = 0
        for v in values:
            sizes = [self._dim_value(d) if isinstance(d, str) else str(d) for d in v.shape]
            offs = [str(offset) if i == axis else "0" for i in range(rank)]
            r = self._ssa("cat")
            self._emit(f"{r} = tensor.insert_slice {v.ssa} into {acc}[{', '.join(offs)}] "
                       f"[{', '.join(sizes)}] [{', '.join(['1'] * rank)}] : {v.type} into {_type(out_shape, v.dtype)}")
            acc = r
            offset += v.shape[axis]
        return Value(self, acc, out_shape, values[0].dtype)

    # --- the IR ----------------------------------------------------------------------

    @property
    def params(self):
        """The bound parameters, in argument order after the inputs."""
        return [(name, array) for _, _, name, array in self._params]

    @property
    def input_names(self):
        return [name for _, name in self._inputs]

    def _attrs(self, name, shape):
        dims = ", ".join(f'"{d}"' if isinstance(d, str) else '""' for d in shape)
        return f'{{tessera.name = "{name}", tessera.dims = [{dims}]}}'

    def mlir(self):
        if not self._outputs:
            raise ValueError(f"graph {self.name!r} has no outputs (call g.output)")
        args = [f"{v.ssa}: {v.type} {self._attrs(n, v.shape)}" for v, n in self._inputs]
        args += [f'{ssa}: {t} {{tessera.name = "{n}"}}' for ssa, t, n, _ in self._params]
        results = [f"{v.type} {self._attrs(n, v.shape)}" for v, n in self._outputs]
        return "\n".join(
            [f"func.func @{self.name}({', '.join(args)}) -> ({', '.join(results)}) {{"]
            + self._body
            + [f"  return {', '.join(v.ssa for v, _ in self._outputs)} : "
               f"{', '.join(v.type for v, _ in self._outputs)}", "}", ""])
