#!/usr/bin/python3
"""Random Tessera programs, compiled (JIT and AOT) and checked against numpy.

Each program is a tessera.Graph with a dynamic batch: one or two layers, most
quantized (random width 1-8, signedness, zero mode, group size, scale dtype,
sometimes a codebook or float codes, constant or run-time weights), some
structured (a Monarch matrix of random rectangular factors, padded and
truncated, or block-sparse weights of random block shape, density and
constant or run-time pattern), joined by
random chains of elementwise ops, activations and norms, with odd sizes
(1 and primes included). Every program is compiled in process and ahead of
time, run at two batch sizes, and compared with tessera.reference. A mismatch
or an exception prints the program's seed and IR and exits 1;
test/fuzz/reduce.py --seed S -o test.mlir then shrinks it (tessera-reduce)
into a lit regression test.

    PYTHONPATH=build/python /usr/bin/python3 test/fuzz/random_programs.py --count 2000
"""

import argparse
import os
import sys
import tempfile
import traceback

import numpy as np

import tessera as ts
from tessera import reference as ref

UNARY = ["relu", "silu", "gelu", "tanh", "sigmoid", "softmax", "rmsnorm", "layernorm"]


def random_quantized(rng, n, k):
    """A QuantizedTensor with random type, scheme and group size."""
    groups = [g for g in (8, 16, 32, 64, 128, k) if k % g == 0]
    group = int(rng.choice(groups))
    kind = rng.choice(["int", "int", "int", "float", "codebook"])
    scale_dtype = rng.choice(["f32", "f16"])
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    if kind == "float":
        e, m = ref.FLOAT_FORMATS[rng.integers(len(ref.FLOAT_FORMATS))]
        return ts.quantize(w, f"e{e}m{m}", group, scale_dtype=scale_dtype), "float"
    bits = int(rng.integers(1, 9))
    if kind == "codebook":
        codes = rng.integers(0, 1 << bits, size=(n, k))
        table = rng.standard_normal(1 << bits).astype(np.float32)
        scales = rng.uniform(0.1, 1, size=(n, k // group)).astype(np.float32)
        return ts.QuantizedTensor(codes, scales, group, f"u{bits}", codebook=table), "codebook"
    signed = bool(rng.integers(2))
    zero = rng.choice(["int", "float"] + (["none"] if signed and bits >= 2 else []))
    if not signed and zero == "none":
        zero = "int"
    return ts.quantize(w, f"{'s' if signed else 'u'}{bits}", group, zero=zero,
                       scale_dtype=scale_dtype), str(zero)


def divisors(v):
    return [d for d in range(1, v + 1) if v % d == 0]


def random_monarch(rng, n, k):
    """A Monarch matrix of logical shape n x k with random factor shapes."""
    kb, q = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    l = int(rng.choice(divisors(kb * q)))
    r = kb * q // l
    p, s = -(-k // kb), -(-n // l)
    return ts.monarch.MonarchMatrix(rng.standard_normal((kb, q, p)) / np.sqrt(p),
                                    rng.standard_normal((l, s, r)) / np.sqrt(r), shape=(n, k))


def random_bsr(rng, n, k):
    block = (int(rng.choice(divisors(n))), int(rng.choice(divisors(k))))
    density = float(rng.choice([0.0, 0.1, 0.5, 1.0]))
    return ts.bsr.from_dense(rng.standard_normal((n, k)) / np.sqrt(k), block, density)


def reference_unary(op, v):
    return {"relu": ref.relu, "silu": ref.silu, "gelu": ref.gelu, "tanh": np.tanh,
            "sigmoid": ref.sigmoid, "softmax": ref.softmax, "rmsnorm": ref.rmsnorm,
            "layernorm": ref.layernorm}[op](v)


def build(rng):
    """A random graph and a numpy function computing the same thing."""
    k = int(rng.choice([8, 16, 24, 40, 64, 96, 128]))
    g = ts.Graph("prog")
    x = g.input("x", ("M", k))
    steps = []  # numpy mirror
    value, width = x, k
    for layer in range(int(rng.integers(1, 3))):
        n = int(rng.choice([1, 3, 5, 8, 13, 16, 31, 40]))
        kind = rng.choice(["mpmm"] * 4 + ["monarch", "bsr"])
        if kind == "monarch":
            m = random_monarch(rng, n, width)
            value = g.monarch_mm(value, m, constant=bool(rng.integers(2)))
            w = m.to_dense()
        elif kind == "bsr":
            sparse = random_bsr(rng, n, width)
            value = g.bsr_mm(value, sparse, constant_pattern=bool(rng.integers(2)))
            w = sparse.to_dense()
        else:
            q, mode = random_quantized(rng, n, width)
            constant = bool(rng.integers(2)) and not q.dtype.is_float and q.codebook is None
            value = g.mpmm(value, q, constant=constant)
            w = ref.dequantize(q.codes, q.scales, q.group_size, q.zeros,
                               q.zero_mode, q.codebook,
                               q.dtype.float_format if q.dtype.is_float else None)
        steps.append(("matmul", w))
        width = n
        for _ in range(int(rng.integers(0, 3))):
            op = UNARY[rng.integers(len(UNARY))] if rng.random() < 0.6 else "binary"
            if op == "binary":
                kind = rng.choice(["add", "mul", "sub"])
                bias = rng.standard_normal(width).astype(np.float32)
                value = getattr(g, kind)(value, bias)
                steps.append((kind, bias))
            else:
                value = getattr(g, op)(value)
                steps.append((op, None))
    g.output(value)

    def mirror(xv):
        """The program in float64, and the largest sum of |products| of its
        matmuls: f32 accumulation error is relative to that, not to a result
        that cancels to almost nothing."""
        v = xv.astype(np.float64)
        terms = 0.0
        for op, arg in steps:
            if op == "matmul":
                terms = max(terms, float(np.max(np.abs(v) @ np.abs(arg).T, initial=0.0)))
                v = v @ arg.T
            elif op == "add":
                v = v + arg
            elif op == "sub":
                v = v - arg
            elif op == "mul":
                v = v * arg
            else:
                v = reference_unary(op, v)
        return v, terms
    return g, mirror, k


def check(seed, workdir):
    rng = np.random.default_rng(seed)
    g, mirror, k = build(rng)
    jit = ts.compile(g)
    aot = ts.compile(g, output=os.path.join(workdir, f"libprog{seed}.so"))
    for m in (1, int(rng.choice([2, 3, 7, 17]))):
        xv = rng.standard_normal((m, k)).astype(np.float32)
        want, terms = mirror(xv)
        for name, fn in (("jit", jit), ("aot", aot)):
            got = fn(xv)
            # A result that cancels to far below its matmuls' terms is
            # judged against a hundredth of them (f32 rounding is relative
            # to the terms; 2e-4 of a hundredth is still 30x eps * sqrt(K)).
            scale = max(np.max(np.abs(want)), 1e-2 * terms) + 1e-3
            err = np.max(np.abs(got - want)) / scale
            if not np.all(np.isfinite(got)) or err > 2e-4:
                raise AssertionError(f"{name} at M={m}: relative error {err:.3g}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        os.environ.setdefault("TESSERA_CACHE_DIR", os.path.join(workdir, "cache"))
        for seed in range(args.seed, args.seed + args.count):
            try:
                check(seed, workdir)
            except Exception:  # report every kind of failure with its seed
                failures += 1
                print(f"seed {seed}: FAILED (reduce it: test/fuzz/reduce.py --seed {seed} "
                      f"-o seed{seed}.mlir)")
                traceback.print_exc()
                print(build(np.random.default_rng(seed))[0].mlir())
    print(f"{args.count - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
