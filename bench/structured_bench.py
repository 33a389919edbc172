#!/usr/bin/python3
"""Structured matmuls (Monarch, block-sparse) against dense matmul and the
usual implementations, measured in the same run.

Monarch (tessera.monarch_mm, n x n with nblocks blocks per factor): per
batch B, the time of Tessera's kernel, of numpy/OpenBLAS on the dense matrix
of the same logical shape, and of PyTorch's two-bmm Monarch (fly's
blockdiag_butterfly_multiply, Debian's python3-torch; skipped if missing);
the speedup over dense, the FLOP-ideal speedup (dense FLOPs / Monarch FLOPs
= n / (2 * n / nblocks) at q = nblocks) and the share of it reached, and
Tessera's GFLOP/s as a share of the machine's peak (measured in the same
run). Block-sparse (tessera.bsr_mm): per M, Tessera with the pattern passed
at run time and compiled in as a constant, dense OpenBLAS, and
scipy.sparse's BSR product (given X^T ready-made: its best case).

Every timing is the best of repeated calls; weights are bound once (they
sit in cache, as the dense matrix does not: it is 64 MiB). Tessera is
timed for every size before the peers run at all: OpenBLAS's and PyTorch's
idle threads spin for a while after each call and would otherwise take the
second core from Tessera's next measurement.

    PYTHONPATH=build/python /usr/bin/python3 bench/structured_bench.py    # the issue's tables
    ... --monarch-batches 32,512 --bsr-batches 32 --threads 1
"""

import argparse
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mpmm_bench import measure, measure_ceilings, run_per_thread_count  # noqa: E402


def torch_monarch(torch, x, w1, w2):
    """fly's blockdiag_butterfly_multiply (forward): two bmm calls."""
    batch = x.shape[0]
    k, q, p = w1.shape
    l, s, r = w2.shape
    out1 = torch.bmm(x.reshape(batch, k, p).transpose(0, 1), w1.transpose(-1, -2))
    out1 = out1.transpose(0, 1).reshape(batch, r, l).transpose(-1, -2).contiguous().transpose(0, 1)
    out2 = torch.bmm(out1, w2.transpose(-1, -2))
    return out2.permute(1, 2, 0).reshape(batch, s * l)


def run_monarch(args, ts, np, torch, peak, threads):
    n, nb = args.monarch_n, args.nblocks
    rng = np.random.default_rng(0)
    w = rng.standard_normal((n, n)).astype(np.float32) / np.sqrt(n)
    m = ts.monarch.project(w, nb)
    dense = m.to_dense().astype(np.float32)
    g = ts.Graph("monarch")
    x = g.input("x", ("B", n))
    g.output(g.monarch_mm(x, m))
    fn = ts.compile(g)
    ideal = dense.size / m.flops_per_row
    print(f"\nMonarch n = {n}, nblocks = {nb}, w1 {m.w1.shape}, w2 {m.w2.shape}, "
          f"{threads} thread(s); FLOP-ideal speedup over dense {ideal:.1f}x")
    print(f"{'B':>5} {'tessera ms':>10} {'dense ms':>9} {'torch ms':>9} {'dense/t':>8} "
          f"{'of ideal':>8} {'torch/t':>8} {'GFLOP/s':>8} {'%peak':>6}")
    # Tessera first for every batch, then the peers: their idle threads
    # (OpenBLAS's, PyTorch's OpenMP pool) keep spinning for a while after
    # each call and would take the second core from the next measurement.
    inputs = {b: rng.standard_normal((b, n)).astype(np.float32) for b in args.monarch_batches}
    times = {}
    for b, xv in inputs.items():
        ref = ts.reference.monarch_mm(xv, m.w1, m.w2)
        assert np.abs(fn(x=xv) - ref).max() <= 1e-3 * np.abs(ref).max(), "tessera monarch mismatch"
        times[b] = measure(lambda i: fn(x=xv), args.budget)
    peers = {}
    for b, xv in inputs.items():
        td = measure(lambda i: xv @ dense.T, args.budget)
        tt = float("nan")
        if torch is not None:
            tw1, tw2, tx = torch.from_numpy(m.w1), torch.from_numpy(m.w2), torch.from_numpy(xv)
            ref = ts.reference.monarch_mm(xv, m.w1, m.w2)
            yt = torch_monarch(torch, tx, tw1, tw2).numpy()
            assert np.abs(yt - ref).max() <= 1e-3 * np.abs(ref).max(), "torch monarch mismatch"
            with torch.no_grad():
                tt = measure(lambda i: torch_monarch(torch, tx, tw1, tw2), args.budget)
        peers[b] = (td, tt)
    for b in args.monarch_batches:
        t, (td, tt) = times[b], peers[b]
        gflops = 2.0 * b * m.flops_per_row / t / 1e9
        print(f"{b:>5} {t * 1e3:>10.3f} {td * 1e3:>9.3f} {tt * 1e3:>9.3f} {td / t:>8.1f} "
              f"{td / t / ideal:>8.2f} {tt / t:>8.2f} {gflops:>8.1f} "
              f"{100 * gflops * 1e9 / peak:>6.1f}", flush=True)


def run_bsr(args, ts, np, peak, threads):
    import scipy.sparse  # noqa: F401 (the peer)
    n = args.bsr_n
    rng = np.random.default_rng(1)
    w = rng.standard_normal((n, n)).astype(np.float32)
    for block in args.blocks:
        sparse = ts.bsr.from_dense(w, block, args.density)
        dense = sparse.to_dense()
        sp = sparse.to_scipy()
        fns = {}
        for label, const in (("runtime", False), ("constant", True)):
            g = ts.Graph("bsr")
            x = g.input("x", ("M", n))
            g.output(g.bsr_mm(x, sparse, constant_pattern=const))
            fns[label] = ts.compile(g)
        print(f"\nBSR {n} x {n}, blocks {block[0]}x{block[1]}, density {sparse.density:.3f} "
              f"({sparse.nnz_blocks} blocks), {threads} thread(s); FLOP-ideal speedup over "
              f"dense {1 / sparse.density:.1f}x")
        print(f"{'M':>5} {'runtime ms':>10} {'const ms':>9} {'dense ms':>9} {'scipy ms':>9} "
              f"{'dense/t':>8} {'scipy/t':>8} {'GFLOP/s':>8} {'%peak':>6}")
        # Tessera first, then the peers (see run_monarch).
        inputs = {mr: rng.standard_normal((mr, n)).astype(np.float32) for mr in args.bsr_batches}
        times = {}
        for mrows, xv in inputs.items():
            ref = xv @ dense.T
            for f in fns.values():
                assert np.abs(f(x=xv) - ref).max() <= 1e-3 * np.abs(ref).max(), "bsr mismatch"
            times[mrows] = {label: measure(lambda i: f(x=xv), args.budget)
                            for label, f in fns.items()}
        for mrows, xv in inputs.items():
            xt = np.ascontiguousarray(xv.T)
            td = measure(lambda i: xv @ dense.T, args.budget)
            tsp = measure(lambda i: sp @ xt, args.budget)
            t = times[mrows]
            best = min(t.values())
            gflops = 2.0 * mrows * sparse.blocks.size / best / 1e9
            print(f"{mrows:>5} {t['runtime'] * 1e3:>10.3f} {t['constant'] * 1e3:>9.3f} "
                  f"{td * 1e3:>9.3f} {tsp * 1e3:>9.3f} {td / t['runtime']:>8.1f} "
                  f"{tsp / t['runtime']:>8.1f} {gflops:>8.1f} {100 * gflops * 1e9 / peak:>6.1f}",
                  flush=True)


def run(args):
    import numpy as np
    import tessera as ts
    try:
        import torch
        torch.set_num_threads(args.threads_now)
    except ImportError:
        torch = None
        print("python3-torch is not installed: no PyTorch column "
              "(scripts/install-deps.sh --bench installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        bandwidth, peak = measure_ceilings(tmp, args.threads_now)
    if args.monarch_batches:
        run_monarch(args, ts, np, torch, peak, args.threads_now)
    if args.bsr_batches:
        run_bsr(args, ts, np, peak, args.threads_now)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--monarch-n", type=int, default=4096)
    p.add_argument("--nblocks", type=int, default=64)
    p.add_argument("--monarch-batches", default="32,64,128,256,512")
    p.add_argument("--bsr-n", type=int, default=4096)
    p.add_argument("--blocks", default="16x16", help="block shapes, e.g. 16x16,4x4")
    p.add_argument("--density", type=float, default=0.1)
    p.add_argument("--bsr-batches", default="32,128")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--budget", type=float, default=1.0, help="seconds of repeats per cell")
    p.add_argument("--threads-now", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    ints = lambda s: [int(v) for v in s.split(",") if v]  # noqa: E731
    args.monarch_batches = ints(args.monarch_batches)
    args.bsr_batches = ints(args.bsr_batches)
    args.blocks = [tuple(int(v) for v in b.split("x")) for b in args.blocks.split(",")]
    if args.threads_now:
        return run(args)
    run_per_thread_count(__file__, ints(args.threads))


if __name__ == "__main__":
    main()
