#!/usr/bin/python3
"""GPU execution checks of libraries compiled here and run on a machine that
has an NVIDIA GPU but no Tessera build.

test/python/test_cuda.py runs the same kinds of check through the Python
package where one machine has both the build and a GPU. Where they are two
machines (this project's build machine has no GPU; a lent GPU machine has
no MLIR), the work splits:

    # here: every case compiled by tessera-compile into DIR, with cases.json
    /usr/bin/python3 test/cuda/device_checks.py build --arch sm_90a DIR
    # there: needs numpy and libcuda.so.1 only
    python3 test/cuda/device_checks.py run DIR

`run` draws fresh random inputs for every case (the seed is printed with a
failure), fills each result buffer with NaN before the call, compares with
python/tessera/reference.py in float64 within the rounding of the kernel
that ran (f32 on CUDA cores below 32 rows, f16 operands on tensor cores from
32), and checks the error statuses. It prints one line per failure and a
summary, writes results.json beside the cases (or to --json), and exits 1
when any case failed, 2 when no GPU could be used.
"""

import argparse
import ctypes
import importlib.util
import json
import pathlib
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent

MPMM = """
func.func @mpmm(%x: tensor<?x{k}x{xt}>, %w: tensor<{n}x{k}x{wt}>, %s: tensor<{n}x{ng}x{st}>{extra}) -> tensor<?x{n}xf32> {{
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x{k}x{xt}>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x{n}xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x{n}xf32>) -> tensor<?x{n}xf32>
  %y = tessera.mpmm %x, %w : tensor<?x{k}x{xt}>, tensor<{n}x{k}x{wt}> scales %s : tensor<{n}x{ng}x{st}>{zeros}{codebook} group_size {g} outs %i : tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
"""

MATMUL = """
func.func @mm(%a: tensor<?x{k}xf16>, %b: tensor<{k}x{n}xf16>, %c: tensor<?x{n}x{ct}>) -> tensor<?x{n}x{ct}> {{
  %y = linalg.matmul ins(%a, %b : tensor<?x{k}xf16>, tensor<{k}x{n}xf16>) outs(%c : tensor<?x{n}x{ct}>) -> tensor<?x{n}x{ct}>
  return %y : tensor<?x{n}x{ct}>
}}
"""

# (exponent, mantissa) bits of the float code types.
FLOAT_CODES = {"!tessera.f4e2m1": (2, 1), "!tessera.f5e2m2": (2, 2),
               "!tessera.f6e3m2": (3, 2), "f8E4M3FN": (4, 3)}
# The tensor-core kernel from this many rows (tessera-cuda-pipeline's
# mma-min-rows on sm_80 and later).
MMA_MIN_ROWS = 32
ROWS = (1, 3, 17, 32, 70, 300)
# (N, K, group, scale type): partial tiles everywhere; the second shape has
# several K steps of the tensor-core kernel.
SHAPES = [(40, 96, 32, "f16"), (100, 256, 64, "f32")]


def mpmm_cases():
    types = [(f"ui{b}", z) for b in range(1, 9) for z in ("none", "int", "float")]
    types += [(f"si{b}", z) for b in range(2, 9) for z in ("none", "float")]
    types += [(t, "none") for t in FLOAT_CODES]
    for n, k, g, st in SHAPES:
        for wt, zero in types:
            yield dict(kind="mpmm", wt=wt, zero=zero, n=n, k=k, g=g, st=st, xt="f32",
                       codebook=False)
        for bits in (2, 4):  # codebooks
            yield dict(kind="mpmm", wt=f"ui{bits}", zero="none", n=n, k=k, g=g, st=st,
                       xt="f32", codebook=True)
        # f16 activations (and f16 scales)
        yield dict(kind="mpmm", wt="ui5", zero="float", n=n, k=k, g=g, st="f16",
                   xt="f16", codebook=False)


def matmul_cases():
    for n, k in ((136, 256), (40, 96)):
        for ct in ("f32", "f16"):
            yield dict(kind="matmul", n=n, k=k, ct=ct)


def case_name(case):
    if case["kind"] == "matmul":
        return f"mm_{case['n']}x{case['k']}_{case['ct']}"
    wt = case["wt"].replace("!tessera.", "")
    cb = "_cb" if case["codebook"] else ""
    return (f"mpmm_{wt}_{case['zero']}{cb}_{case['n']}x{case['k']}g{case['g']}"
            f"_{case['st']}_x{case['xt']}")


def mlir_text(case):
    if case["kind"] == "matmul":
        return MATMUL.format(**case)
    n, k, g, wt, st = case["n"], case["k"], case["g"], case["wt"], case["st"]
    ng = k // g
    extra = zeros = codebook = ""
    if case["zero"] == "int":
        extra += f", %z: tensor<{n}x{ng}x{wt}>"
        zeros = f" zeros %z : tensor<{n}x{ng}x{wt}>"
    elif case["zero"] == "float":
        extra += f", %z: tensor<{n}x{ng}x{st}>"
        zeros = f" zeros %z : tensor<{n}x{ng}x{st}>"
    if case["codebook"]:
        size = 1 << int(wt[2:])
        extra += f", %cb: tensor<{size}xf32>"
        codebook = f" codebook %cb : tensor<{size}xf32>"
    return MPMM.format(n=n, k=k, g=g, ng=ng, wt=wt, st=st, xt=case["xt"], extra=extra,
                       zeros=zeros, codebook=codebook)


def build(args):
    out = pathlib.Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    tool = pathlib.Path(args.compiler)
    cases = []
    # Every case for the GPU's own architecture; a few also for another one,
    # whose library must either run through the driver's PTX compiler or
    # fail with the library's error status (never crash).
    plan = [(c, args.arch) for c in list(mpmm_cases()) + list(matmul_cases())]
    for extra_arch in args.also_arch:
        plan += [(dict(kind="mpmm", wt="ui4", zero="int", n=100, k=256, g=64, st="f16",
                       xt="f32", codebook=False), extra_arch)]
    start = time.time()
    for case, arch in plan:
        name = f"{case_name(case)}_{arch}"
        if args.only and args.only not in name:
            continue
        src = out / f"{name}.mlir"
        src.write_text(mlir_text(case))
        target = arch if arch == "host" else f"cuda:{arch}"
        # Host libraries stand in for the GPU's: weights canonical, as the
        # CUDA ABI takes them (the CPU's dequantize kernel would read some
        # interleaved).
        layouts = ["--dequantize-layouts=false"] if arch == "host" else []
        proc = subprocess.run([str(tool), str(src), f"--target={target}", *layouts,
                               "-o", str(out / f"lib{name}.so"), "--prefix", name],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"device_checks: {name}: tessera-compile failed:\n{proc.stderr}")
        src.unlink()
        cases.append(dict(case, name=name, arch=arch))
    (out / "cases.json").write_text(json.dumps(cases, indent=1))
    print(f"device_checks: {len(cases)} libraries for {args.arch} in {out} "
          f"({time.time() - start:.0f} s)")


# --- run: on the GPU machine -----------------------------------------------

def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load_module("tessera_reference", ROOT / "python" / "tessera" / "reference.py")
cuda_driver = load_module("cuda_driver", HERE / "cuda_driver.py")

NP = {"f32": np.float32, "f16": np.float16}


def code_kind(wt):
    """(bits, signed, float format or None)."""
    if wt in FLOAT_CODES:
        e, m = FLOAT_CODES[wt]
        return 1 + e + m, False, (e, m)
    return int(wt[2:]), wt.startswith("si"), None


def random_codes(rng, wt, shape):
    bits, signed, float_format = code_kind(wt)
    lo, hi = ref.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=shape)
    if wt == "f8E4M3FN":  # no NaN patterns (S.1111.111)
        codes = np.where((codes & 0x7F) == 0x7F, 0, codes)
    return codes


def mpmm_inputs(rng, case):
    """(device inputs after x, reference dequantized weights, magnitude of
    the terms the kernel sums on CUDA cores, on tensor cores)."""
    n, k, g, st, wt, zero = (case[key] for key in ("n", "k", "g", "st", "wt", "zero"))
    bits, _, float_format = code_kind(wt)
    ng = k // g
    codes = random_codes(rng, wt, (n, k))
    scales = (0.5 + rng.random((n, ng))).astype(NP[st])
    inputs = [ref.pack(codes, bits), scales]
    z = table = None
    if zero == "int":
        z = random_codes(rng, wt, (n, ng))
        inputs.append(ref.pack(z, bits))
    elif zero == "float":
        z = rng.standard_normal((n, ng)).astype(NP[st])
        inputs.append(z)
    if case["codebook"]:
        table = rng.standard_normal(1 << bits).astype(np.float32)
        inputs.append(table)
    fmt = None if case["codebook"] else float_format
    deq = ref.dequantize(codes, scales, g, z, zero, table, fmt)
    tc_terms = np.abs(deq)
    cc_terms = tc_terms
    if zero == "int":  # CUDA cores: s * (sum x v - z * sum x)
        expand = lambda a: np.repeat(np.abs(a.astype(np.float64)), g, axis=1)
        cc_terms = expand(scales) * (
            np.abs(ref.dequantize(codes, np.ones_like(scales), g, None, "none", table, fmt))
            + expand(z))
    elif zero == "float":  # s * v + z, each rounded
        tc_terms = cc_terms = tc_terms + 2 * np.repeat(np.abs(z.astype(np.float64)), g, axis=1)
    return inputs, deq, cc_terms, tc_terms


class Library:
    def __init__(self, path, prefix):
        lib = ctypes.CDLL(str(path))
        symbol = lambda name, restype: setattr(getattr(lib, f"{prefix}_{name}"), "restype",
                                                restype) or getattr(lib, f"{prefix}_{name}")
        self.signature = json.loads(symbol("signature", ctypes.c_char_p)())[0]
        self.target = symbol("target", ctypes.c_char_p)().decode()
        self._last_error = symbol("last_error", ctypes.c_char_p)
        self.fn = symbol(self.signature["name"], ctypes.c_int32)

    def last_error(self):
        return self._last_error().decode()

    def call(self, inputs, outputs):
        """inputs, outputs: (pointer, shape) pairs in signature order."""
        args = []
        for (pointer, shape), spec in zip(
                inputs + outputs, self.signature["inputs"] + self.signature["results"]):
            args.append(ctypes.c_void_p(pointer))
            args += [ctypes.c_int64(shape[d]) for d, s in enumerate(spec["shape"]) if s is None]
        return self.fn(*args)


def skinny_chunk(case):
    """The codes of a chunk of the tensor-core kernel for few rows of x
    (below mma-min-rows), or 0 where it does not run this mpmm
    (MpmmSkinnyMmaKernel.cpp's chunkCodes and skinnyMmaKernelFits): integer
    codes of 1, 2, 4 or 8 bits, no float offsets, no codebook, K and the
    group multiples of a chunk of 128, 64 or 32 codes whose quarter fills
    whole 32-bit words."""
    bits, _, float_format = code_kind(case["wt"])
    if (case["kind"] != "mpmm" or float_format or case["codebook"]
            or bits not in (1, 2, 4, 8) or case["zero"] == "float"):
        return 0
    chunk = next((c for c in (128, 64, 32)
                  if case["g"] % c == 0 and c // 4 * bits % 32 == 0), 0)
    return chunk if chunk and case["k"] % chunk == 0 else 0


def skinny_kernel_takes(case):
    return skinny_chunk(case) != 0


def run_case(driver, directory, case, seed, mma_min_rows=MMA_MIN_ROWS):
    """A list of failure messages (empty when every row count passed).
    mma_min_rows: the rows from which the tensor-core kernel runs."""
    lib = Library(directory / f"lib{case['name']}.so", case["name"])
    rng = np.random.default_rng(seed)
    n, k = case["n"], case["k"]
    failures = []
    if case["kind"] == "mpmm":
        inputs, deq, cc_terms, tc_terms = mpmm_inputs(rng, case)
        params = [cuda_driver.DeviceArray.of(driver, a) for a in inputs]
    else:
        b = rng.standard_normal((k, n)).astype(np.float16)
        params = [cuda_driver.DeviceArray.of(driver, b)]
    for m in ROWS:
        if case["kind"] == "mpmm":
            x = rng.standard_normal((m, k)).astype(NP[case["xt"]])
            xs = [x]
            x64 = x.astype(np.float64)
            want = x64 @ deq.T
            bound = 4 * (k + 8) * 2.0 ** -24 * (np.abs(x64) @ (cc_terms if m < mma_min_rows
                                                               else tc_terms).T)
            if m >= mma_min_rows:  # x and the dequantized weights rounded to f16
                bound += 2.0 ** -9 * (np.abs(x64) @ tc_terms.T)
            elif skinny_kernel_takes(case) and case.get("arch") != "host":
                bound += 2.0 ** -10 * (np.abs(x64) @ cc_terms.T)  # x rounded to f16
            out_dtype = np.float32
        else:
            a = rng.standard_normal((m, k)).astype(np.float16)
            c = rng.standard_normal((m, n)).astype(NP[case["ct"]])
            xs = [a, c]
            b64 = b.astype(np.float64)
            want = a.astype(np.float64) @ b64 + c
            magnitude = np.abs(a.astype(np.float64)) @ np.abs(b64) + np.abs(c)
            bound = 4 * (k + 8) * 2.0 ** -24 * magnitude
            if case["ct"] == "f16" and m >= mma_min_rows:  # f32 sums rounded to f16
                bound += 2.0 ** -11 * np.abs(want) + 2.0 ** -24
            elif case["ct"] == "f16":  # linalg.matmul itself accumulates in f16
                bound = (k + 2) * 2.0 ** -11 * magnitude + 2.0 ** -24
            out_dtype = NP[case["ct"]]
        # Inputs in the function's order: x (or a), the weights' arrays (or
        # b), then c for a matmul.
        device = [cuda_driver.DeviceArray.of(driver, v) for v in xs]
        ordered = device[:1] + params + device[1:]
        y = cuda_driver.DeviceArray(driver, (m, n), out_dtype)
        driver.fill_bytes(y.ptr, 0xFF, y.nbytes)  # NaN: every element must be written
        status = lib.call([(d.ptr, d.shape) for d in ordered], [(y.ptr, (m, n))])
        if status != 0:
            failures.append(f"M={m}: status {status}: {lib.last_error()}")
            continue
        got = y.numpy().astype(np.float64)
        err = np.abs(got - want)
        ok = np.isfinite(got) & (err <= bound + 1e-30)
        if not ok.all():
            i = np.unravel_index(np.argmax(np.where(ok, 0, 1 + np.nan_to_num(err, nan=1e300))),
                                 err.shape)
            failures.append(f"M={m}: {int((~ok).sum())} of {ok.size} wrong, e.g. y{list(i)} = "
                            f"{got[i]:.6g}, want {want[i]:.6g} (bound {bound[i]:.3g})")
    return failures


def error_status_checks(driver, directory, case):
    """A null pointer and a wrong dimension: status 1 naming the argument,
    nothing launched; then a good call still works."""
    lib = Library(directory / f"lib{case['name']}.so", case["name"])
    failures = []
    n, k = case["n"], case["k"]
    x = cuda_driver.DeviceArray(driver, (4, k), np.float32)
    y = cuda_driver.DeviceArray(driver, (4, n), np.float32)
    params = [(0, ())] * (len(lib.signature["inputs"]) - 1)  # every weight array
    status = lib.call([(x.ptr, (4, k))] + params, [(y.ptr, (4, n))])
    if status != 1 or "null" not in lib.last_error():
        failures.append(f"null weights: status {status}, {lib.last_error()!r}")
    return failures


def run(args):
    directory = pathlib.Path(args.dir)
    try:
        driver = cuda_driver.HostMemory() if args.host else cuda_driver.Driver()
    except cuda_driver.CudaError as e:
        print(f"device_checks: no GPU to run on: {e}")
        return 2
    cases = json.loads((directory / "cases.json").read_text())
    print(f"device_checks: {driver.name} (sm_{driver.capability[0]}{driver.capability[1]}), "
          f"{len(cases)} libraries, M in {ROWS}")
    own = "sm_%d%d" % driver.capability
    seed_source = np.random.SeedSequence()
    results, failed = [], 0
    start = time.time()
    for case in cases:
        seed = int(seed_source.spawn(1)[0].generate_state(1)[0])
        try:
            # On the CPU every row count runs in f32 (no tensor cores).
            failures = run_case(driver, directory, case, seed,
                                1 << 30 if args.host else MMA_MIN_ROWS)
            if case["kind"] == "mpmm" and case["zero"] == "int":
                failures += error_status_checks(driver, directory, case)
        except Exception as e:  # a crash of one case is reported, not fatal
            failures = [f"{type(e).__name__}: {e}"]
        outcome = "ran"
        if case["arch"] not in (own, own + "a", "host") and failures and all(
                "status 3" in f and "another architecture" in f for f in failures):
            # A binary this GPU cannot run: the library's error, as it should be.
            outcome, failures = f"refused: {failures[0]}", []
        if case["arch"] not in (own, own + "a", "host"):
            print(f"device_checks: {case['name']} (built for {case['arch']}) on {own}: {outcome}")
        results.append(dict(name=case["name"], seed=seed, outcome=outcome, failures=failures))
        if failures:
            failed += 1
            for f in failures:
                print(f"FAIL {case['name']} (seed {seed}): {f}")
    out = pathlib.Path(args.json) if args.json else directory / "results.json"
    out.write_text(json.dumps(dict(device=driver.name, results=results), indent=1))
    print(f"device_checks: {len(cases) - failed} passed, {failed} failed "
          f"({len(cases)} libraries x {len(ROWS)} row counts, {time.time() - start:.0f} s)")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile every case (here)")
    b.add_argument("dir")
    b.add_argument("--arch", default="sm_90a")
    b.add_argument("--also-arch", action="append", default=[],
                   help="another architecture to build one case for")
    b.add_argument("--compiler", default=str(ROOT / "build" / "bin" / "tessera-compile"))
    b.add_argument("--only", help="build only the cases whose name contains this")
    r = sub.add_parser("run", help="run every case (on the GPU machine)")
    r.add_argument("dir")
    r.add_argument("--json", help="where to write the results (default DIR/results.json)")
    r.add_argument("--host", action="store_true",
                   help="the libraries were built with --arch host: run them on the CPU "
                        "(checks the checks where there is no GPU)")
    args = parser.parse_args()
    if args.command == "build":
        build(args)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
