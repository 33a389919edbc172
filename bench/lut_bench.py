#!/usr/bin/python3
"""The LUT (T-MAC) strategy of mpmm against the dequantize strategy.

For each shape N x K, batch M, width b and thread count, prints the time per
call of mpmm compiled with strategy="lut" (int8 tables, the vector kernel of
byte shuffles or permutes) and strategy="dequantize", their ratio, the LUT's effective
GB/s (weight + scale + zero bytes / time) and share of the read bandwidth
measured in the same run (before and after the cells, the better of the
two), its roofline efficiency (floor / time, floor =
max(bytes / bandwidth, 2*M*N*K / peak), as bench/mpmm_bench.py defines it),
and what strategy="auto" picks (read from the layout its library takes the
weights in), with its time over the faster one's (the
three timed in alternating rounds, best of each). Weights
are quantized group-wise (group 128, f16 scales, integer zero points), bound
as parameters (prepacked once for the LUT kernel) and come from memory, not
cache: the benchmark cycles through enough distinct copies to exceed twice
the last-level cache.

    PYTHONPATH=build/python /usr/bin/python3 bench/lut_bench.py          # the issue's table
    ... --shapes 4096x4096 --batches 1 --widths 2 --threads 1
"""

import argparse
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mpmm_bench import Ceilings, llc_bytes, measure, run_per_thread_count  # noqa: E402


ROUNDS = 2


def run(args):
    import numpy as np
    import tessera as ts

    threads = args.threads_now
    with tempfile.TemporaryDirectory() as tmp:
        ceilings = Ceilings(tmp, threads)
        rows = []  # the cells, printed once the ceilings are final
        rng = np.random.default_rng(0)
        llc = llc_bytes()
        for n, k in args.shapes:
            w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
            for bits in args.widths:
                q = ts.quantize(w, f"u{bits}", 128, scale_dtype="f16")
                g = ts.Graph("bench")
                x = g.input("x", ("M", k))
                g.output(g.mpmm(x, q))
                weight_bytes = sum(a.nbytes for _, a in g.params)
                copies = max(1, int(np.ceil(2 * llc / weight_bytes)))
                fns = {}
                for strategy in ("lut", "dequantize", "auto"):
                    lib = pathlib.Path(tmp) / f"lib{strategy}_{n}x{k}_u{bits}.so"
                    ts.compile(g, output=lib, strategy=strategy)
                    fns[strategy] = [ts.load(lib, params=[(nm, a.copy()) for nm, a in g.params])
                                     for _ in range(copies)]
                # What auto compiled, from the weights' layout: the LUT
                # kernel's bit planes (for 7 and 8 bits with M known only at
                # run time: both kernels on those planes, chosen by M), not
                # the dequantize kernel's 3-bit planes (tile = [8, 32]).
                planes = any("bit_planes" in layout and "tile = [8, 32]" not in layout
                             for layout in (spec.get("layout") or ""
                                            for spec in fns["auto"][0].inputs))
                auto_pick = ("lut" if bits <= 6 else "lut|deq") if planes else "dequantize"
                for m in args.batches:
                    xv = rng.standard_normal((m, k)).astype(np.float32)
                    # The three in alternating rounds, each the best of its
                    # rounds: a burst of load from the machine's other tenants
                    # then slows one round, not one strategy.
                    t = {s: float("inf") for s in fns}
                    for _ in range(ROUNDS):
                        for s, f in fns.items():
                            t[s] = min(t[s], measure(lambda i: f[i % copies](xv),
                                                     args.budget / ROUNDS))
                    rows.append((n, k, m, bits, weight_bytes, t, auto_pick))
                del fns
        ceilings.measure()
    print(ceilings.describe(with_step=False))
    print(f"{'N x K':>12} {'M':>4} {'bits':>4} {'lut ms':>9} {'deq ms':>9} {'deq/lut':>7} "
          f"{'GB/s':>7} {'%bw':>5} {'roofline':>8} {'auto':>10} {'auto/best':>9}")
    for n, k, m, bits, weight_bytes, t, auto in rows:
        floor = max(weight_bytes / ceilings.bandwidth, 2.0 * m * n * k / ceilings.peak)
        print(f"{n:>5} x {k:<5} {m:>4} {bits:>4} {t['lut'] * 1e3:>9.3f} "
              f"{t['dequantize'] * 1e3:>9.3f} {t['dequantize'] / t['lut']:>7.2f} "
              f"{weight_bytes / t['lut'] / 1e9:>7.2f} "
              f"{100 * weight_bytes / t['lut'] / ceilings.bandwidth:>5.1f} "
              f"{floor / t['lut']:>8.3f} {auto:>10} "
              f"{t['auto'] / min(t['lut'], t['dequantize']):>9.2f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="4096x4096,11008x4096")
    p.add_argument("--batches", default="1,16,256")
    p.add_argument("--widths", default="1,2,3,4")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--budget", type=float, default=1.0, help="seconds of repeats per cell")
    p.add_argument("--threads-now", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    args.batches = [int(v) for v in args.batches.split(",")]
    args.widths = [int(v) for v in args.widths.split(",")]
    if args.threads_now:
        return run(args)
    run_per_thread_count(__file__, [int(v) for v in args.threads.split(",")])


if __name__ == "__main__":
    main()
