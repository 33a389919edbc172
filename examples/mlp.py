#!/usr/bin/python3
"""A Llama-style MLP block with 3-bit weights: down(silu(gate(x)) * up(x)).

Quantizes random f32 weights to 3 bits (group 128, f16 scales, integer zero
points) with tessera.quantize, builds the block with tessera.Graph, compiles
it (JIT), checks it against numpy on the dequantized weights and times both.

    PYTHONPATH=build/python /usr/bin/python3 examples/mlp.py
"""

import time

import numpy as np

import tessera as ts

D, F, M, BITS, GROUP = 1024, 2816, 4, "u3", 128


def best_time(fn, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    weights = {"gate": rng.standard_normal((F, D)), "up": rng.standard_normal((F, D)),
               "down": rng.standard_normal((D, F))}
    q = {name: ts.quantize((w / np.sqrt(w.shape[1])).astype(np.float32), BITS, GROUP,
                           scale_dtype="f16") for name, w in weights.items()}
    for name, t in q.items():
        t.name = name

    g = ts.Graph("mlp")
    x = g.input("x", shape=("M", D))
    g.output(g.mpmm(g.silu(g.mpmm(x, q["gate"])) * g.mpmm(x, q["up"]), q["down"]))
    start = time.perf_counter()
    fn = ts.compile(g)
    compile_s = time.perf_counter() - start

    xv = rng.standard_normal((M, D)).astype(np.float32)
    y = fn(x=xv)

    dense = {name: ts.dequantize(t) for name, t in q.items()}  # f32, for numpy
    def numpy_mlp():
        a, b = xv @ dense["gate"].T, xv @ dense["up"].T
        return (a / (1 + np.exp(-a)) * b) @ dense["down"].T
    want = numpy_mlp().astype(np.float64)
    error = np.abs(y - want).max() / np.abs(want).max()
    t_tessera = best_time(lambda: fn(x=xv))
    t_numpy = best_time(numpy_mlp)
    packed = sum(t.packed().nbytes + t.scales.nbytes + t.packed_zeros().nbytes for t in q.values())
    print(f"Llama-style MLP, D={D}, F={F}, M={M}, {BITS} weights (group {GROUP}): "
          f"{packed / 2**20:.1f} MiB packed vs {sum(d.nbytes for d in dense.values()) / 2**20:.1f} MiB f32")
    print(f"check against numpy: max error / max |y| = {error:.2e}: {'PASS' if error < 1e-4 else 'FAIL'}")
    print(f"compile {compile_s * 1e3:.0f} ms; Tessera {t_tessera * 1e3:.2f} ms, "
          f"numpy f32 matmul on the dequantized weights {t_numpy * 1e3:.2f} ms "
          f"(ratio {t_tessera / t_numpy:.2f}; this is the reference lowering, not the fast path)")
    return 0 if error < 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
