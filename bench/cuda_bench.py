#!/usr/bin/python3
"""mpmm on an NVIDIA GPU against the memory floor and PyTorch's f16 matmul.

For W4 weights (unsigned 4-bit, group 128, integer zero points, f16 scales)
of shape N x K and batches M, prints Tessera's time per call (device arrays
in and out, weights resident on the GPU), effective bandwidth (packed weight
+ scale + zero bytes / time) and its share of the device-to-device copy
bandwidth measured in the same run, and, where PyTorch with CUDA is present,
torch's f16 matmul (cuBLAS) on the dequantized weights and the time ratio.

On a machine with a GPU and a Tessera build:

    PYTHONPATH=build/python /usr/bin/python3 bench/cuda_bench.py --arch sm_90a

Libraries compiled here, run on a GPU machine that has no compiler build:

    PYTHONPATH=build/python /usr/bin/python3 bench/cuda_bench.py --arch sm_90a --compile-only out/
    (there) PYTHONPATH=build/python /usr/bin/python3 bench/cuda_bench.py --libraries out/

(the second needs only the tessera package's Python files and its extension
for the driver; the libraries carry their own runtime).
"""

import argparse
import json
import pathlib
import sys
import time

import numpy as np

import tessera as ts

SHAPES = [(4096, 4096), (11008, 4096)]
BATCHES = [1, 16, 4096]


def weights(n, k, seed=0):
    rng = np.random.default_rng(seed)
    return ts.quantize(rng.standard_normal((n, k)).astype(np.float32), dtype="u4",
                       group_size=128, zero="int", scale_dtype="f16")


def graph(n, k):
    g = ts.Graph(f"w4_{n}x{k}")
    x = g.input("x", shape=("M", k))
    g.output(g.mpmm(x, weights(n, k)))
    return g


def library_name(n, k):
    return f"libw4_{n}x{k}.so"


def weight_bytes(q):
    n, k = q.codes.shape
    groups = n * (k // q.group_size)
    return n * k // 2 + groups * 2 + (groups + 1) // 2


def timed(call, sync, budget=1.0):
    """Median seconds per call over about `budget` seconds."""
    call()
    sync()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < budget or len(times) < 5:
        t = time.perf_counter()
        call()
        sync()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def copy_bandwidth():
    """Device-to-device copy of 1 GiB: bytes read + written per second."""
    size = 1 << 30
    a, b = ts.cuda.DeviceArray((size,), np.uint8), ts.cuda.DeviceArray((size,), np.uint8)
    seconds = timed(lambda: ts._tessera.cuda_memcpy(b.ptr, a.ptr, size), lambda: None, 2.0)
    return 2 * size / seconds


def torch_peer():
    try:
        import torch
        if torch.cuda.is_available():
            return torch
    except ImportError:
        pass
    return None


def check(y, x, q, deq):
    """The first and last rows of a result against the reference, within the
    rounding of the kernel that ran (f16 operands on tensor cores, f32
    otherwise), so that no wrong kernel is timed."""
    rows = sorted({0, 1, len(x) - 1})
    want = x[rows].astype(np.float64) @ deq.T
    bound = 2.0 ** -9 * (np.abs(x[rows]) @ np.abs(deq).T) + 1e-4
    err = np.abs(y[rows] - want)
    if not (err <= bound).all():
        raise SystemExit(f"cuda_bench: wrong result for M = {len(x)}, "
                         f"N x K = {q.codes.shape}: max error {err.max():.3g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="sm_80", help="GPU architecture to compile for")
    parser.add_argument("--compile-only", metavar="DIR",
                        help="write the libraries to DIR and stop (no GPU needed)")
    parser.add_argument("--libraries", metavar="DIR", help="load the libraries from DIR")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    if args.compile_only:
        out = pathlib.Path(args.compile_only)
        out.mkdir(parents=True, exist_ok=True)
        for n, k in SHAPES:
            ts.compile(graph(n, k), target=f"cuda:{args.arch}",
                       output=out / library_name(n, k))
            # The weights go along (the library takes them as arguments).
            q = weights(n, k)
            np.savez(out / f"w4_{n}x{k}.npz", codes=q.packed(), scales=q.scales,
                     zeros=ts.pack(q.zeros, q.zero_dtype))
        print(f"wrote {len(SHAPES)} libraries for {args.arch} to {out}")
        return 0

    reason = ts.cuda.reason_unavailable()
    if reason:
        print(f"cuda_bench: no GPU to run on: {reason}")
        return 2
    bandwidth = copy_bandwidth()
    torch = torch_peer()
    print(f"device-to-device copy bandwidth {bandwidth / 1e9:.0f} GB/s (measured now); "
          f"peer: {'torch ' + torch.__version__ + ' f16 matmul' if torch else 'none (no PyTorch with CUDA)'}")
    print(f"{'N x K':>12} {'M':>5} {'tessera ms':>11} {'GB/s':>7} {'of copy bw':>10} "
          f"{'TFLOP/s':>8} {'torch f16 ms':>13} {'torch/tessera':>13}")
    rng = np.random.default_rng(1)
    for n, k in SHAPES:
        q = weights(n, k)
        if args.libraries:
            fn = ts.load(pathlib.Path(args.libraries) / library_name(n, k))
            stored = np.load(pathlib.Path(args.libraries) / f"w4_{n}x{k}.npz")
            params = [ts.cuda.to_device(stored[name]) for name in ("codes", "scales", "zeros")]
        else:
            fn = ts.compile(graph(n, k), target=f"cuda:{args.arch}")
            params = []
        deq = q.dequantize().astype(np.float64)
        w16 = None
        if torch:
            w16 = torch.from_numpy(q.dequantize()).to("cuda", torch.float16)
        for m in batches:
            xh = rng.standard_normal((m, k)).astype(np.float32)
            x = ts.cuda.to_device(xh)
            check(fn(x, *params).numpy(), xh, q, deq)
            seconds = timed(lambda: fn(x, *params), lambda: None)
            gbs = weight_bytes(q) / seconds / 1e9
            tflops = 2 * m * n * k / seconds / 1e12
            peer = ""
            if torch:
                x16 = torch.randn(m, k, device="cuda", dtype=torch.float16)
                t = timed(lambda: x16 @ w16.T, torch.cuda.synchronize)
                peer = f"{t * 1e3:13.3f} {t / seconds:13.2f}"
            print(f"{n:>6}x{k:<5} {m:>5} {seconds * 1e3:11.3f} {gbs:7.0f} "
                  f"{gbs * 1e9 / bandwidth:10.2f} {tflops:8.2f} {peer}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
