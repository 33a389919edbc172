#!/usr/bin/python3
"""mpmm on CPU against the machine's ceilings and numpy/OpenBLAS.

For each shape N x K, batch M, width b and thread count, prints: Tessera's
time per call, effective GB/s (packed weight + scale + zero bytes / time), the
share of the read bandwidth measured in the same run, numpy/OpenBLAS f32 time
on the dequantized matrix, Tessera/numpy time ratio, and roofline efficiency
(floor / time, floor = max(bytes / bandwidth, 2*M*N*K / peak)) and, at
M = 1, the most that any dequantize-and-FMA kernel could reach ("bound":
floor / (2*M*N*K / step), at most 1, where step is the rate of the least work
per vector of weights, an AND, a conversion and an FMA, measured in the same
run in bench/ceilings.c with the widest vectors the CPU has, as the peak is;
that work takes vector issue slots the FMA peak counts as
FMAs, so where the floor is the peak the bound is below 1; the row kernels
that multiply bytes, on AVX512-VNNI CPUs at 1, 2, 3, 4 and 8 bits, do less
work per weight and are not held to it); per shape,
a last block times a dense f32 matmul compiled by Tessera (bits "f32")
against numpy/OpenBLAS SGEMM on the same matrix. Weights come
from memory, not cache: the benchmark cycles through enough distinct copies
to exceed twice the last-level cache. Each ceiling is the best of a
measurement before the cells and one after them (a busy moment at the start
would otherwise set the ceiling of the whole table), so the table of a
thread count is printed when its cells are done. Where numpy's OpenBLAS does
not know the CPU and falls back to its generic kernels, the peer is run with
the kernels the CPU's features name (see peer_environment) and a line says so.

    PYTHONPATH=build/python /usr/bin/python3 bench/mpmm_bench.py            # the issue's table
    PYTHONPATH=build/python /usr/bin/python3 bench/mpmm_bench.py --full     # widths 1-8
    ... --shapes 4096x4096 --batches 1,16 --widths 4 --threads 1
"""

import argparse
import ctypes
import functools
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


@functools.lru_cache
def ceilings_library(tmp):
    """bench/ceilings.c, built once into `tmp` and loaded."""
    lib = pathlib.Path(tmp) / "ceilings.so"
    subprocess.run(["cc", "-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC",
                    "-o", str(lib), str(ROOT / "bench" / "ceilings.c"), "-lpthread"], check=True)
    c = ctypes.CDLL(str(lib))
    c.read_bandwidth.restype = ctypes.c_double
    c.peak_gflops.restype = ctypes.c_double
    c.dequantize_step_gflops.restype = ctypes.c_double
    return c


class Ceilings:
    """The machine's read bandwidth (bytes/s), peak f32 rate (FLOP/s, an
    FMA counts 2) and the rate of the least work per weight of a
    dequantize-and-FMA kernel (FLOP/s, 2 per weight; ceilings.c) with
    `threads` threads. measure() may be called again, after the cells: each
    ceiling is the best of its measurements, so that a moment when the
    machine's other tenants held a core does not become the ceiling of a
    whole table (one busy start once cut a two-thread peak to 112 GFLOP/s
    of about 180)."""

    def __init__(self, tmp, threads):
        self.tmp, self.threads = tmp, threads
        self.bandwidth = self.peak = self.step = 0.0
        self.measure()

    def measure(self):
        c = ceilings_library(self.tmp)
        self.bandwidth = max(self.bandwidth,
                             c.read_bandwidth(ctypes.c_size_t(256 << 20), self.threads, 2) * 1e9)
        self.peak = max(self.peak, c.peak_gflops(self.threads, 20_000_000) * 1e9)
        self.step = max(self.step, c.dequantize_step_gflops(self.threads, 400_000) * 1e9)

    def describe(self, with_step=True):
        step = (f", dequantize step (AND, convert, FMA per vector of weights, in L1) "
                f"{self.step / 1e9:.0f} GFLOP/s = {self.step / self.peak:.2f} of the peak"
                if with_step else "")
        return (f"threads {self.threads}: read bandwidth {self.bandwidth / 1e9:.1f} GB/s, "
                f"peak f32 {self.peak / 1e9:.0f} GFLOP/s{step} (best of before and after "
                f"the cells)")


def measure_ceilings(tmp, threads):
    """The machine's read bandwidth (bytes/s) and peak f32 rate (FLOP/s)
    with `threads` threads, measured now and printed."""
    ceilings = Ceilings(tmp, threads)
    print(f"threads {threads}: read bandwidth {ceilings.bandwidth / 1e9:.1f} GB/s, "
          f"peak f32 {ceilings.peak / 1e9:.0f} GFLOP/s (measured now)")
    return ceilings.bandwidth, ceilings.peak


# OpenBLAS's generic x86 kernels: what its DYNAMIC_ARCH build falls back to
# on a CPU model missing from its table.
GENERIC_OPENBLAS_CORES = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                          "katmai", "coppermine", "northwood", "banias"}


def openblas_core(env):
    """The kernels ("core") numpy's OpenBLAS picks under `env`, or None where
    numpy does not use OpenBLAS."""
    probe = ("import ctypes, ctypes.util, numpy\n"
             "for name in ('libopenblas.so.0', 'libblas.so.3'):\n"
             "    try:\n"
             "        f = ctypes.CDLL(name).openblas_get_corename\n"
             "    except (OSError, AttributeError):\n"
             "        continue\n"
             "    f.restype = ctypes.c_char_p\n"
             "    print(f().decode()); break\n")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    return out.stdout.strip() or None


def peer_environment():
    """The environment that gives the peer its best kernels on this CPU.
    OpenBLAS picks its kernels by CPU model: one newer than its table gets
    the generic SSE3 (Prescott) kernels, 4x slower than its AVX-512 ones
    (Debian 12's 0.3.21 on an Emerald Rapids Xeon: SGEMM 33 against 134
    GFLOP/s). There the core is named from the CPU's features, as
    OPENBLAS_CORETYPE allows, and said so."""
    env = dict(os.environ)
    core = openblas_core(env)
    if core is None or core.lower() not in GENERIC_OPENBLAS_CORES or "OPENBLAS_CORETYPE" in env:
        return env
    try:
        flags = set(next(line for line in open("/proc/cpuinfo") if line.startswith("flags"))
                    .split(":", 1)[1].split())
    except (OSError, StopIteration):
        return env
    for wanted, needs in (("Cooperlake", {"avx512f", "avx512_bf16"}),
                          ("SkylakeX", {"avx512f", "avx512bw", "avx512vl"}),
                          ("Haswell", {"avx2", "fma"})):
        if needs <= flags:
            chosen = openblas_core(dict(env, OPENBLAS_CORETYPE=wanted))
            if chosen and chosen.lower() not in GENERIC_OPENBLAS_CORES:
                print(f"OpenBLAS took its generic {core} kernels on this CPU (a model it does "
                      f"not know); the peer runs with OPENBLAS_CORETYPE={wanted} ({chosen})")
                return dict(env, OPENBLAS_CORETYPE=wanted)
    return env


def run_per_thread_count(script, thread_counts):
    """Reruns `script` with the same arguments once per thread count: numpy's
    OpenBLAS and Tessera's pool read their thread counts from the environment
    at start-up; OpenBLAS its kernels too (peer_environment)."""
    base = peer_environment()
    for t in thread_counts:
        env = dict(base, OPENBLAS_NUM_THREADS=str(t), TESSERA_NUM_THREADS=str(t))
        subprocess.run([sys.executable, script, *sys.argv[1:], "--threads-now", str(t)],
                       env=env, check=True)


def llc_bytes():
    try:
        for index in sorted(pathlib.Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            if (index / "level").read_text().strip() == "3":
                size = (index / "size").read_text().strip()
                return int(size[:-1]) * (1024 if size.endswith("K") else 1 << 20)
    except OSError:
        pass
    return 32 << 20


def run(args):
    import numpy as np
    import tessera as ts

    threads = args.threads_now
    with tempfile.TemporaryDirectory() as tmp:
        ceilings = Ceilings(tmp, threads)
        rows = []  # the cells, printed once the ceilings are final
        budget = args.budget / SIDE_BY_SIDE_ROUNDS  # per round of a cell
        rng = np.random.default_rng(0)
        llc = llc_bytes()
        for shape in args.shapes:
            n, k = shape
            w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
            for bits in args.widths:
                q = ts.quantize(w, f"u{bits}", 128, scale_dtype="f16")
                g = ts.Graph("bench")
                x = g.input("x", ("M", k))
                g.output(g.mpmm(x, q))
                lib = pathlib.Path(tmp) / f"libbench_{n}x{k}_u{bits}.so"
                ts.compile(g, output=lib)
                weight_bytes = sum(a.nbytes for _, a in g.params)
                copies = max(1, int(np.ceil(2 * llc / weight_bytes)))
                fns = [ts.load(lib,
                               params=[(nm, a.copy()) for nm, a in g.params]) for _ in range(copies)]
                dense = ts.dequantize(q)
                denses = [dense.copy() for _ in range(max(1, int(np.ceil(2 * llc / dense.nbytes))))]
                xs = {m: rng.standard_normal((m, k)).astype(np.float32) for m in args.batches}
                t_ts, t_np = side_by_side(
                    xs, lambda xv: measure(lambda i: fns[i % copies](xv), budget),
                    lambda xv: measure(lambda i: xv @ denses[i % len(denses)].T, budget))
                rows += [(n, k, m, bits, weight_bytes, t_ts[m], t_np[m]) for m in args.batches]
                del fns, denses
            # A dense f32 matmul compiled by Tessera, against OpenBLAS SGEMM.
            g = ts.Graph("dense")
            x = g.input("x", ("M", k))
            g.output(g.matmul(x, np.ascontiguousarray(w.T)))
            lib = pathlib.Path(tmp) / f"libdense_{n}x{k}.so"
            ts.compile(g, output=lib)
            weight_bytes = n * k * 4
            copies = max(1, int(np.ceil(2 * llc / weight_bytes)))
            fns = [ts.load(lib, params=[(nm, a.copy()) for nm, a in g.params])
                   for _ in range(copies)]
            denses = [np.ascontiguousarray(w.T) for _ in range(copies)]
            xs = {m: rng.standard_normal((m, k)).astype(np.float32) for m in args.batches}
            t_ts, t_np = side_by_side(
                xs, lambda xv: measure(lambda i: fns[i % copies](xv), budget),
                lambda xv: measure(lambda i: xv @ denses[i % copies], budget))
            rows += [(n, k, m, "f32", weight_bytes, t_ts[m], t_np[m]) for m in args.batches]
            del fns, denses
        ceilings.measure()
    print(ceilings.describe())
    print(f"{'N x K':>12} {'M':>4} {'bits':>4} {'tessera ms':>11} {'GB/s':>7} {'%bw':>5} "
          f"{'numpy ms':>9} {'t/np':>6} {'roofline':>8} {'bound':>5}")
    for n, k, m, bits, weight_bytes, t_ts, t_np in rows:
        flops = 2.0 * m * n * k
        floor = max(weight_bytes / ceilings.bandwidth, flops / ceilings.peak)
        bound = (f"{min(1.0, floor * ceilings.step / flops):>5.2f}" if m == 1 and bits != "f32"
                 else "")
        print(f"{n:>5} x {k:<5} {m:>4} {bits:>4} {t_ts * 1e3:>11.3f} "
              f"{weight_bytes / t_ts / 1e9:>7.2f} "
              f"{100 * weight_bytes / t_ts / ceilings.bandwidth:>5.1f} "
              f"{t_np * 1e3:>9.3f} {t_ts / t_np:>6.2f} {floor / t_ts:>8.3f} {bound:>5}".rstrip(),
              flush=True)


SIDE_BY_SIDE_ROUNDS = 2


def side_by_side(inputs, tessera, peer):
    """Times of `tessera(x)` and `peer(x)` for each input, each the best of
    SIDE_BY_SIDE_ROUNDS alternating rounds (a burst of load from the
    machine's other tenants then slows one round of one side, not a side's
    only measurement). In a round Tessera's come first for all inputs, then
    the peer's: OpenBLAS's idle threads spin for a while after each call and
    would take the second core from a Tessera measurement that followed one
    at once."""
    t_ts = {key: float("inf") for key in inputs}
    t_peer = dict(t_ts)
    for _ in range(SIDE_BY_SIDE_ROUNDS):
        for key, x in inputs.items():
            t_ts[key] = min(t_ts[key], tessera(x))
        for key, x in inputs.items():
            t_peer[key] = min(t_peer[key], peer(x))
    return t_ts, t_peer


def measure(call, budget):
    """Best time per call; stops repeating once `budget` seconds are spent."""
    call(0)
    best, spent, i = float("inf"), 0.0, 1
    while i < 4 or (spent < budget and i < 50):
        start = time.perf_counter()
        call(i)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        i += 1
        if elapsed > budget:
            break
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="4096x4096,11008x4096,4096x11008")
    p.add_argument("--batches", default="1,16,256")
    p.add_argument("--widths", default=None)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--full", action="store_true", help="widths 1-8")
    p.add_argument("--budget", type=float, default=1.0, help="seconds of repeats per cell")
    p.add_argument("--threads-now", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    args.batches = [int(v) for v in args.batches.split(",")]
    args.widths = ([int(v) for v in args.widths.split(",")] if args.widths
                   else list(range(1, 9)) if args.full else [2, 3, 4, 8])
    if args.threads_now:
        return run(args)
    run_per_thread_count(__file__, [int(v) for v in args.threads.split(",")])


if __name__ == "__main__":
    main()
