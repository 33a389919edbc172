#!/usr/bin/python3
"""mpmm on an NVIDIA GPU against the memory floor and PyTorch's f16 matmul.

W4 weights (unsigned 4-bit, group 128, integer zero points, f16 scales) of
shape N x K, batches M. Libraries are compiled by tessera-compile and called
through ctypes with device pointers (weights resident on the GPU); the run
needs numpy and the CUDA driver only, so the libraries can be compiled on a
machine without a GPU and run on one without a Tessera build:

    /usr/bin/python3 bench/cuda_bench.py --arch sm_90a --compile-only DIR   # here
    python3 bench/cuda_bench.py --libraries DIR                             # there

or both at once where one machine has the build and the GPU:

    /usr/bin/python3 bench/cuda_bench.py --arch sm_90a

Printed per shape and batch: the time of a call as a caller sees it (its
launches, allocations and copies, synchronized), the effective bandwidth of
the weight bytes (packed codes + scales + zero points) over that time and its
share of the device-to-device copy bandwidth measured in the same run; where
PyTorch with CUDA is present, the time of Tessera's kernels alone (from
PyTorch's profiler) and their share of the copy bandwidth, and torch's f16
matmul (cuBLAS) on the dequantized weights, with the ratio of its time to
Tessera's call.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


# The GPU checks' MLIR, inputs, reference bounds, ctypes library wrapper and
# driver (numpy only).
sys.path.insert(0, str(ROOT / "test" / "cuda"))
import device_checks as checks  # noqa: E402

cuda_driver = checks.cuda_driver

SHAPES = [(4096, 4096), (11008, 4096)]
BATCHES = [1, 16, 4096]


def w4_case(n, k):
    return dict(kind="mpmm", wt="ui4", zero="int", n=n, k=k, g=128, st="f16", xt="f32",
                codebook=False, name=f"w4_{n}x{k}")


def weight_bytes(n, k, g=128):
    groups = n * (k // g)
    return n * k // 2 + groups * 2 + (groups + 1) // 2


def compile_libraries(directory, arch, compiler):
    directory.mkdir(parents=True, exist_ok=True)
    for n, k in SHAPES:
        case = w4_case(n, k)
        src = directory / f"{case['name']}.mlir"
        src.write_text(checks.mlir_text(case))
        target = arch if arch == "host" else f"cuda:{arch}"
        # Host libraries take the weights canonical, as the CUDA ABI does.
        layouts = ["--dequantize-layouts=false"] if arch == "host" else []
        proc = subprocess.run([compiler, str(src), f"--target={target}", *layouts, "--prefix",
                               case["name"], "-o", str(directory / f"lib{case['name']}.so")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"cuda_bench: tessera-compile failed:\n{proc.stderr}")
    print(f"cuda_bench: {len(SHAPES)} libraries for {arch} in {directory}")


def timed(call, sync, budget):
    """Median seconds per call over about `budget` seconds (after a warm-up)."""
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


def copy_bandwidth(driver):
    """Device-to-device copy of 1 GiB: bytes read + written per second."""
    size = 1 << 30
    a = cuda_driver.DeviceArray(driver, (size,), np.uint8)
    b = cuda_driver.DeviceArray(driver, (size,), np.uint8)
    seconds = timed(lambda: driver.copy(b.ptr, a.ptr, size), driver.synchronize, 1.0)
    return 2 * size / seconds


def torch_peer():
    try:
        import torch
        if torch.cuda.is_available():
            return torch
    except ImportError:
        pass
    return None


def kernel_seconds(torch, call, calls=20):
    """Device time per call of the kernels a call launches (not its copies),
    from PyTorch's profiler (CUPTI sees every kernel of the process), and
    each kernel's own time in launch order (microseconds), or None."""
    try:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(calls):
                call()
            torch.cuda.synchronize()
        kernels = []
        for event in prof.events():
            if (str(event.device_type).endswith("CUDA")
                    and not event.name.startswith(("Memcpy", "Memset"))):
                kernels.append((event.time_range.start, event.time_range.elapsed_us()))
        if not kernels or len(kernels) % calls:
            return None
        kernels.sort()
        per_call = len(kernels) // calls
        each = [float(np.median([kernels[c * per_call + i][1] for c in range(calls)]))
                for i in range(per_call)]
        return sum(t for _, t in kernels) / calls * 1e-6, each
    except Exception as e:  # the profiler is a nicety: report, go on
        print(f"cuda_bench: no kernel times ({type(e).__name__}: {e})")
        return None


def small_copy_bandwidth(torch, nbytes, copies=50):
    """Bytes read + written per second by a device-to-device copy of
    `nbytes` (the size of a cell's weights), from CUDA-graph replays of
    `copies` copies timed with events: how near the copy bandwidth a
    kernel that reads that little can come."""
    a = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        b.copy_(a)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(copies):
            b.copy_(a)
    graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(10):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e-3 / copies)
    return 2 * nbytes / float(np.median(times))


def run(directory, budget, host=False, shapes=None, batches=None, peer=True):
    try:
        driver = cuda_driver.HostMemory() if host else cuda_driver.Driver()
    except cuda_driver.CudaError as e:
        print(f"cuda_bench: no GPU to run on: {e}")
        return 2
    torch = torch_peer() if peer and not host else None
    bandwidth = copy_bandwidth(driver)
    print(f"{driver.name}: device-to-device copy bandwidth {bandwidth / 1e9:.0f} GB/s "
          f"(measured now); peer: "
          f"{'torch ' + torch.__version__ + ' f16 matmul' if torch else 'none (no PyTorch with CUDA)'}")
    if torch:
        for n, k in shapes or SHAPES:
            small = small_copy_bandwidth(torch, weight_bytes(n, k))
            print(f"  a copy of {n} x {k}'s weight bytes: {small / 1e9:.0f} GB/s "
                  f"= {small / bandwidth:.2f} of the copy bandwidth")
    print(f"{'N x K':>12} {'M':>5} {'call ms':>9} {'GB/s':>6} {'of bw':>6} {'kernel ms':>10} "
          f"{'of bw':>6} {'TFLOP/s':>8} {'torch f16 ms':>13} {'torch/call':>11}  kernels us")
    rng = np.random.default_rng()
    rows = []
    for n, k in shapes or SHAPES:
        case = w4_case(n, k)
        lib = checks.Library(directory / f"lib{case['name']}.so", case["name"])
        inputs, deq, _, tc_terms = checks.mpmm_inputs(rng, case)
        params = [cuda_driver.DeviceArray.of(driver, a) for a in inputs]
        w16 = torch.from_numpy(deq.astype(np.float16)).cuda() if torch else None
        for m in batches or BATCHES:
            xh = rng.standard_normal((m, k)).astype(np.float32)
            x = cuda_driver.DeviceArray.of(driver, xh)
            y = cuda_driver.DeviceArray(driver, (m, n), np.float32)
            args = [(x.ptr, x.shape)] + [(p.ptr, p.shape) for p in params]

            def call():
                status = lib.call(args, [(y.ptr, y.shape)])
                if status:
                    raise SystemExit(f"cuda_bench: {lib.last_error()}")

            # The first and last rows against the reference, so that no wrong
            # kernel is timed.
            driver.fill_bytes(y.ptr, 0xFF, y.nbytes)
            call()
            got = y.numpy()
            for r in sorted({0, m - 1}):
                want = xh[r].astype(np.float64) @ deq.T
                bound = (2.0 ** -9 + 2.0 ** -20) * (np.abs(xh[r]) @ tc_terms.T) + 1e-5
                if not (np.abs(got[r] - want) <= bound).all():
                    raise SystemExit(f"cuda_bench: wrong result for M = {m}, N x K = {n}x{k}")
            seconds = timed(call, lambda: None, budget)
            kernel = kernel_seconds(torch, call) if torch else None
            each = ""
            if kernel:
                kernel, kernels = kernel
                each = "  " + " + ".join(f"{t:.1f}" for t in kernels)
            gbs = weight_bytes(n, k) / seconds / 1e9
            row = dict(n=n, k=k, m=m, call_s=seconds, kernel_s=kernel, gbs=gbs,
                       copy_bw=bandwidth, tflops=2 * m * n * k / seconds / 1e12)
            kernel_text = f"{'-':>10} {'-':>6}"
            if kernel:
                kernel_text = f"{kernel * 1e3:10.4f} {weight_bytes(n, k) / kernel / bandwidth:6.2f}"
            peer = ""
            if torch:
                x16 = torch.randn(m, k, device="cuda", dtype=torch.float16)
                t = timed(lambda: x16 @ w16.T, torch.cuda.synchronize, budget)
                row["torch_s"] = t
                peer = f"{t * 1e3:13.4f} {t / seconds:11.2f}"
            rows.append(row)
            print(f"{n:>6}x{k:<5} {m:>5} {seconds * 1e3:9.4f} {gbs:6.0f} "
                  f"{gbs * 1e9 / bandwidth:6.2f} {kernel_text} {row['tflops']:8.2f} {peer}{each}",
                  flush=True)
    (directory / "bench.json").write_text(json.dumps(dict(device=driver.name, rows=rows),
                                                     indent=1))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="sm_80", help="GPU architecture to compile for")
    parser.add_argument("--compile-only", metavar="DIR",
                        help="write the libraries to DIR and stop (no GPU needed)")
    parser.add_argument("--libraries", metavar="DIR", help="run the libraries in DIR")
    parser.add_argument("--compiler", default=str(ROOT / "build" / "bin" / "tessera-compile"))
    parser.add_argument("--budget", type=float, default=0.5,
                        help="seconds of timing per measurement")
    parser.add_argument("--shape", action="append", metavar="NxK",
                        help="only this shape (repeatable; default: the issue's two)")
    parser.add_argument("--batch", action="append", type=int, metavar="M",
                        help="only this batch (repeatable; default 1, 16, 4096)")
    parser.add_argument("--no-torch", action="store_true",
                        help="leave PyTorch out (no peer, no profiler: for running under ncu)")
    parser.add_argument("--host", action="store_true",
                        help="run libraries built with --arch host on the CPU (checks this "
                             "script where there is no GPU)")
    args = parser.parse_args()
    if args.compile_only:
        compile_libraries(pathlib.Path(args.compile_only), args.arch, args.compiler)
        return 0
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shape or []]
    if args.libraries:
        return run(pathlib.Path(args.libraries), args.budget, args.host, shapes, args.batch,
                   not args.no_torch)
    with tempfile.TemporaryDirectory() as tmp:
        compile_libraries(pathlib.Path(tmp), args.arch, args.compiler)
        return run(pathlib.Path(tmp), args.budget, args.host, shapes, args.batch,
                   not args.no_torch)


if __name__ == "__main__":
    sys.exit(main())
