"""The CUDA target: kernels assembled by ptxas for every architecture (no GPU
needed), libraries with the GPU binary embedded, the runtime's CUDA driver
loader (against a stand-in driver where there is no GPU), and, on a machine
with an NVIDIA GPU, execution against the reference."""

import ctypes
import itertools
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tessera as ts
from matrices import matrix_params
from tessera import reference as ref

from conftest import BUILD

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "cuda"))
import device_checks  # noqa: E402

PTXAS = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
needs_ptxas = pytest.mark.skipif(not os.path.exists(PTXAS),
                                 reason="no CUDA toolkit (ptxas) on this machine")
GPU_REASON = ts.cuda.reason_unavailable()
needs_gpu = pytest.mark.skipif(GPU_REASON != "",
                               reason=f"GPU execution tests need an NVIDIA GPU: {GPU_REASON}")
ARCHS = ["sm_80", "sm_89", "sm_90a"]
MMA = "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"


@pytest.fixture(scope="session")
def compile_tool(tessera_run):
    return str(pathlib.Path(tessera_run).parent / "tessera-compile")


MPMM = """
func.func @mpmm(%x: tensor<?x{k}xf32>, %w: tensor<{n}x{k}x{wt}>, %s: tensor<{n}x{ng}xf16>{zarg}) -> tensor<?x{n}xf32> {{
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x{k}xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x{n}xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x{n}xf32>) -> tensor<?x{n}xf32>
  %y = tessera.mpmm %x, %w : tensor<?x{k}xf32>, tensor<{n}x{k}x{wt}> scales %s : tensor<{n}x{ng}xf16>{zeros} group_size {g} outs %i : tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
"""


def mpmm_module(wt, zero_mode, n=48, k=256, g=64):
    ng = k // g
    zarg = zeros = ""
    if zero_mode == "int":
        zarg = f", %z: tensor<{n}x{ng}x{wt}>"
        zeros = f" zeros %z : tensor<{n}x{ng}x{wt}>"
    elif zero_mode == "float":
        zarg = f", %z: tensor<{n}x{ng}xf16>"
        zeros = f" zeros %z : tensor<{n}x{ng}xf16>"  # float offsets
    return MPMM.format(n=n, k=k, g=g, ng=ng, wt=wt, zarg=zarg, zeros=zeros)


WEIGHT_TYPES = ([f"ui{b}" for b in range(1, 9)] + [f"si{b}" for b in range(2, 9)]
                + ["!tessera.f4e2m1", "!tessera.f6e3m2", "f8E4M3FN"])


def assemble_all(compile_tool, tmp_path, wt, zero_modes, **shape):
    for zero_mode in zero_modes:
        src = tmp_path / f"{zero_mode}.mlir"
        src.write_text(mpmm_module(wt, zero_mode, **shape))
        params = dict(dict(n=48, k=256, g=64), **shape)
        chunk = device_checks.skinny_chunk(
            dict(kind="mpmm", wt=wt, zero=zero_mode, codebook=False, **params))
        for arch in ARCHS:
            ptx = tmp_path / f"{zero_mode}-{arch}.ptx"
            proc = subprocess.run([compile_tool, str(src), f"--target=cuda:{arch}",
                                   "--emit=ptx", "-o", str(ptx)],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            modules = ptx.read_text().split("// ---- kernel module ")[1:]
            # The fill, the tensor-core product (16 mma.sync m16n8k16 per
            # step) and, below 32 rows, the tensor-core kernel for few rows
            # (16 mma.sync per chunk of 128 codes, 8 per 64, 4 per 32) or
            # the CUDA-core ones (M = 1 and 4 rows per warp or thread).
            assert "atom.global.add.f32" in ptx.read_text()  # the split-K kernels
            if chunk:  # 2 tiles x chunk / 16 mma per chunk
                assert len(modules) == 3
                assert ptx.read_text().count(MMA) == 16 + 2 * chunk // 16
            else:
                assert len(modules) == 4
                assert ptx.read_text().count(MMA) == 16
            for i, module in enumerate(modules):
                text = module.split("\n", 1)[1]
                assert f".target {arch}" in text
                one = tmp_path / f"k{i}.ptx"
                one.write_text(text)
                report = subprocess.run([PTXAS, f"-arch={arch}", "-v", str(one),
                                         "-o", str(tmp_path / "k.cubin")],
                                        capture_output=True, text=True)
                assert report.returncode == 0, report.stderr
                spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads",
                                    report.stderr)
                assert spills, report.stderr
                assert all(s == ("0", "0") for s in spills), report.stderr


@needs_ptxas
@pytest.mark.parametrize("wt", matrix_params(WEIGHT_TYPES, lambda wt: wt[:2]))
def test_ptxas_assembles_every_kernel_without_spills(compile_tool, tmp_path, wt):
    """Every width, float format and zero mode: the kernels' PTX assembles
    for each architecture and ptxas reports no spills."""
    assemble_all(compile_tool, tmp_path, wt,
                 ["none", "int", "float"] if wt.startswith("ui") else ["none"])


@needs_ptxas
@pytest.mark.parametrize("n", [4096, 11008])
def test_ptxas_benchmark_configurations(compile_tool, tmp_path, n):
    """bench/cuda_bench.py's W4 (group 128, integer zero points): no spills;
    the few-rows tensor-core kernel's f16x2 decoding (an add per pair of
    codes) and no shuffles; no integer division or remainder in any kernel
    (the launches' constants are sunk into them before outlining: as kernel
    parameters, divisions by them would be real divisions)."""
    assemble_all(compile_tool, tmp_path, "ui4", ["int"], n=n, k=4096, g=128)
    ptx = (tmp_path / "int-sm_90a.ptx").read_text()
    assert ptx.count("add.rn.f16x2") >= 32 and "shfl.sync" not in ptx
    assert not re.search(r"\b(div|rem)\.[us](32|64)\b", ptx)


def compile_cuda(compile_tool, tmp_path, text, name, arch="sm_80"):
    src = tmp_path / f"{name}.mlir"
    src.write_text(text)
    lib = tmp_path / f"lib{name}.so"
    proc = subprocess.run([compile_tool, str(src), "-o", str(lib), f"--target=cuda:{arch}",
                           "--header", str(tmp_path / f"{name}.h")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return lib


@needs_ptxas
def test_library_embeds_a_fatbin_and_needs_only_libc(compile_tool, tmp_path):
    lib = compile_cuda(compile_tool, tmp_path, mpmm_module("ui4", "int"), "gpu")
    data = lib.read_bytes()
    assert b"\x50\xed\x55\xba" in data  # the fatbin's magic number
    dyn = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
    needed = {line.split("[")[1].rstrip("]") for line in dyn.splitlines() if "(NEEDED)" in line}
    assert needed <= {"libc.so.6", "libm.so.6", "libpthread.so.0", "ld-linux-x86-64.so.2"}
    assert "libcuda" not in dyn
    header = (tmp_path / "gpu.h").read_text()
    assert "CUDA (sm_80): every tensor pointer is a device pointer" in header
    handle = ctypes.CDLL(str(lib))
    handle.gpu_target.restype = ctypes.c_char_p
    assert handle.gpu_target() == b"cuda:sm_80"


@needs_ptxas
@pytest.mark.skipif(GPU_REASON == "", reason="this machine has a GPU")
def test_call_without_gpu_is_an_error_status(compile_tool, tmp_path):
    lib = ctypes.CDLL(str(compile_cuda(compile_tool, tmp_path, mpmm_module("ui3", "none"), "nogpu")))
    lib.nogpu_last_error.restype = ctypes.c_char_p
    x = np.ones((2, 256), np.float32)
    w = np.zeros(48 * 256 * 3 // 8, np.uint8)
    s = np.ones((48, 4), np.float16)
    y = np.zeros((2, 48), np.float32)
    p = lambda a: ctypes.c_void_p(a.ctypes.data)
    status = lib.nogpu_mpmm(p(x), ctypes.c_int64(2), p(w), p(s), p(y), ctypes.c_int64(2))
    assert status == 3
    assert lib.nogpu_last_error().decode().startswith("mpmm: no CUDA driver: ")
    # Argument checks come first, as on the CPU.
    status = lib.nogpu_mpmm(None, ctypes.c_int64(2), p(w), p(s), p(y), ctypes.c_int64(2))
    assert status == 1 and "null pointer" in lib.nogpu_last_error().decode()


@needs_ptxas
@pytest.mark.skipif(GPU_REASON == "", reason="this machine has a GPU")
def test_python_cuda_target_without_gpu(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    g = ts.Graph("gpu")
    x = g.input("x", shape=("M", 64))
    g.output(g.mpmm(x, ts.quantize(rng.standard_normal((32, 64)), dtype="u4",
                                   group_size=32, zero="int")))
    fn = ts.compile(g, target="cuda")
    assert fn.device
    with pytest.raises(RuntimeError, match="no CUDA driver"):
        fn(x=rng.standard_normal((3, 64)).astype(np.float32))
    with pytest.raises(ValueError, match="name the GPU architecture"):
        ts.compile(g, target="cuda:80")
    with pytest.raises(ValueError, match="CPU kernel"):
        ts.compile(g, target="cuda", strategy="lut")


FAKE_DRIVER_CALLER = """
import ctypes, json, sys
import numpy as np
lib = ctypes.CDLL(sys.argv[1])
m = int(sys.argv[2])
lib.fake_last_error.restype = ctypes.c_char_p
p = lambda a: ctypes.c_void_p(a.ctypes.data)
x = np.ones((m, 256), np.float32)
w = np.zeros(48 * 256 // 2, np.uint8)
s = np.ones((48, 4), np.float16)
z = np.zeros(48 * 4 // 2, np.uint8)
y = np.full((m, 48), 7.0, np.float32)
results = []
for _ in range(3):
    status = lib.fake_mpmm(p(x), ctypes.c_int64(m), p(w), p(s), p(z), p(y), ctypes.c_int64(m))
    results.append([status, lib.fake_last_error().decode()])
# The fake driver runs no kernel: the result is the device buffer's zeros.
results.append(float(np.abs(y).max()))
# x 4 bytes past a 16-byte boundary: aligned for f32, not for the GPU.
x16 = np.ones(m * 256 + 4, np.float32)
x16 = x16[(-x16.ctypes.data // 4) % 4 + 1:][:m * 256]
status = lib.fake_mpmm(p(x16), ctypes.c_int64(m), p(w), p(s), p(z), p(y), ctypes.c_int64(m))
results.append([status, lib.fake_last_error().decode()])
# A call from another thread: its own stream, destroyed when it ends.
import threading
thread = threading.Thread(target=lambda: results.append(lib.fake_mpmm(
    p(x), ctypes.c_int64(m), p(w), p(s), p(z), p(y), ctypes.c_int64(m))))
thread.start()
thread.join()
print(json.dumps(results))
"""


def run_with_fake_driver(tmp_path, lib, fail=None, m=5):
    fake_dir = tmp_path / "fake"
    fake_dir.mkdir(exist_ok=True)
    fake = fake_dir / "libcuda.so.1"
    if not fake.exists():
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(fake),
                        str(pathlib.Path(__file__).parent / "fake_cuda.c")], check=True)
    env = dict(os.environ, LD_LIBRARY_PATH=str(fake_dir),
               FAKE_CUDA_LOG=str(tmp_path / "log.json"))
    env.pop("FAKE_CUDA_FAIL", None)
    if fail:
        env["FAKE_CUDA_FAIL"] = fail
    proc = subprocess.run([sys.executable, "-c", FAKE_DRIVER_CALLER, str(lib), str(m)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), json.loads((tmp_path / "log.json").read_text())


@needs_ptxas
def test_loader_against_a_stand_in_driver(compile_tool, tmp_path):
    """Module loading, launches, allocation and freeing, result copies and
    error statuses, with a driver that keeps device memory in host memory
    and counts kernels instead of running them."""
    lib = compile_cuda(compile_tool, tmp_path, mpmm_module("ui4", "int"), "fake")
    calls, log = run_with_fake_driver(tmp_path, lib)
    assert [c[0] for c in calls[:3]] == [0, 0, 0] and calls[0][1] == ""
    assert calls[3] == 0.0  # the caller's buffer got the (zero) device result
    assert calls[4] == [1, "mpmm: input 'arg0' is misaligned: device pointers need 16-byte "
                           "alignment"]
    # Three kernels (the fill, mpmm on tensor cores from 32 rows and below
    # them), loaded once as fatbins; each call runs the fill and one mpmm.
    assert log["modules"] == 3 and log["module_kinds"] == "FFF"
    assert log["launches"] == 4 * 2  # three calls and the thread's
    # Every temporary and every result buffer from the stream-ordered pool
    # and back to it after each call; one stream for all of the thread's
    # calls, the other thread's destroyed when it ended (the main thread's
    # lives until the process ends).
    assert log["pool_allocs"] == log["pool_frees"] and log["pool_allocs"] > 0
    assert log["allocs"] == 0
    assert calls[5] == 0
    assert log["streams"] == 2 and log["live_streams"] == 1
    # One wait for the stream per call, at its end (the host code's waits
    # after each launch group are deferred: the stream is the thread's).
    assert log["syncs"] == 4
    # The mpmm for M = 5 on the few-rows tensor-core kernel: blocks of 4
    # warps, a warp for 32 rows of W and a chunk of 64 codes (group 64):
    # 2 x 4 warps in 2 blocks along (N, K), 1 along M (8 rows of x).
    assert log["last_block"] == [128, 1, 1] and log["last_grid"] == [2, 1, 1]
    # M = 200 on tensor cores: blocks of 256 threads (8 warps) for 128 x 64
    # tiles of Y: 2 blocks along M, 1 along N = 48.
    calls, log = run_with_fake_driver(tmp_path, lib, m=200)
    assert [c[0] for c in calls[:3]] == [0, 0, 0]
    assert log["launches"] == 4 * 2
    assert log["last_block"] == [256, 1, 1] and log["last_grid"] == [2, 1, 1]

    # Without the pool (an old driver): cuMemAlloc and cuMemFree.
    calls, log = run_with_fake_driver(tmp_path, lib, fail="pool")
    assert [c[0] for c in calls[:3]] == [0, 0, 0]
    assert log["allocs"] == log["frees"] and log["allocs"] > 0 and log["pool_allocs"] == 0

    calls, log = run_with_fake_driver(tmp_path, lib, fail="launch")
    assert calls[0][0] == 3
    assert calls[0][1] == ("mpmm: launching a kernel: CUDA_ERROR_LAUNCH_FAILED (719): "
                           "reported by the fake driver")
    assert calls[3] == 7.0  # the caller's buffer untouched
    assert log["pool_allocs"] == log["pool_frees"]  # temporaries freed after the failure

    # A kernel that fails while running: reported by the call's one wait.
    calls, log = run_with_fake_driver(tmp_path, lib, fail="sync")
    assert calls[0][0] == 3
    assert calls[0][1] == ("mpmm: running the kernels: CUDA_ERROR_LAUNCH_FAILED (719): "
                           "reported by the fake driver")
    assert calls[3] == 7.0  # the caller's buffer untouched
    assert log["pool_allocs"] == log["pool_frees"]

    calls, log = run_with_fake_driver(tmp_path, lib, fail="alloc")
    assert calls[0][0] == 3 and "CUDA_ERROR_OUT_OF_MEMORY" in calls[0][1]
    assert log["launches"] == 0  # nothing launched after the failure

    calls, log = run_with_fake_driver(tmp_path, lib, fail="init")
    assert calls[0][0] == 3 and calls[0][1].startswith("mpmm: no usable GPU: CUDA_ERROR_NO_DEVICE")


def test_device_checks_on_host(tmp_path):
    """test/cuda/device_checks.py, which runs the GPU execution checks on a
    GPU machine without a build, against CPU libraries of a few of its cases:
    its inputs, argument order, reference and bounds, and that it fails a
    wrong result."""
    script = pathlib.Path(__file__).parent.parent / "cuda" / "device_checks.py"
    lib_dir = tmp_path / "libs"
    build = subprocess.run([sys.executable, str(script), "build", "--arch", "host",
                            "--only", "ui3", str(lib_dir),
                            "--compiler", str(BUILD / "bin" / "tessera-compile")],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    cases = json.loads((lib_dir / "cases.json").read_text())
    assert len(cases) == 6  # ui3 x three zero modes x two shapes
    run = subprocess.run([sys.executable, str(script), "run", "--host", str(lib_dir)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 passed, 0 failed" in run.stdout
    # A library that computes something else (the 2-bit one under the 3-bit
    # case's name) fails.
    wrong = cases[0]
    src = lib_dir / "wrong.mlir"
    sys.path.insert(0, str(script.parent))
    import device_checks
    src.write_text(device_checks.mlir_text(dict(wrong, wt="ui2")))
    subprocess.run([str(BUILD / "bin" / "tessera-compile"), str(src), "--target=host",
                    "--prefix", wrong["name"], "-o", str(lib_dir / f"lib{wrong['name']}.so")],
                   check=True)
    (lib_dir / "cases.json").write_text(json.dumps([wrong]))
    run = subprocess.run([sys.executable, str(script), "run", "--host", str(lib_dir)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "FAIL " in run.stdout, run.stdout


# --- on a machine with an NVIDIA GPU ---------------------------------------

@needs_gpu
@pytest.mark.parametrize("bits", range(1, 9))
@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("zero", ["none", "int", "float"])
def test_mpmm_on_gpu_matches_reference(bits, signed, zero, tmp_path, monkeypatch):
    if signed and (bits == 1 or zero == "int"):
        pytest.skip("signed codes: no 1-bit, no integer zero points")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    w = rng.standard_normal((40, 96)).astype(np.float32)
    q = ts.quantize(w, dtype=("s" if signed else "u") + str(bits), group_size=32, zero=zero)
    g = ts.Graph("gpu")
    x = g.input("x", shape=("M", 96))
    g.output(g.mpmm(x, q))
    fn = ts.compile(g, target="cuda")
    mode = "none" if q.zeros is None else ("float" if isinstance(q.zero_dtype, str) else "int")
    skinny = device_checks.skinny_kernel_takes(
        dict(kind="mpmm", wt=("si" if signed else "ui") + str(bits), zero=mode,
             codebook=False, g=q.group_size, k=96))
    for m in (1, 3, 17):
        xv = rng.standard_normal((m, 96)).astype(np.float32)
        want = ref.mpmm(xv, q.codes, q.scales, q.group_size, q.zeros, mode)
        outs = [fn(x=xv)]
        # Device arrays in, device arrays out.
        out = fn(x=ts.cuda.to_device(xv))
        assert isinstance(out, ts.cuda.DeviceArray)
        outs.append(out.numpy())
        for got in outs:
            if skinny:  # tensor cores: x rounded to f16, the weights exact
                assert (np.abs(got - want) <= skinny_bound(xv, q, mode)).all()
            else:
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def skinny_bound(x, q, mode):
    """|error| of the few-rows tensor-core kernel: x rounded to f16 (2^-11
    relative) times s (|v| + |z|), f32 sums."""
    expand = lambda a: np.repeat(np.abs(np.asarray(a, np.float64)), q.group_size, axis=1)
    terms = expand(q.scales) * np.abs(
        ref.dequantize(q.codes, np.ones_like(q.scales), q.group_size))
    if mode == "int":
        terms = terms + expand(q.scales) * expand(q.zeros)
    return 2.0 ** -10 * (np.abs(x.astype(np.float64)) @ terms.T) + 1e-5


@needs_gpu
@pytest.mark.parametrize("bits", [1, 3, 4, 8])
@pytest.mark.parametrize("zero", ["none", "int", "float"])
def test_mpmm_on_tensor_cores_matches_reference(bits, zero, tmp_path, monkeypatch):
    """M >= 32 runs on tensor cores: f16 operands (x and the dequantized
    weights rounded to f16, 2^-11 each), f32 accumulation; partial warp
    tiles in M and N."""
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng()
    w = rng.standard_normal((100, 256)).astype(np.float32)
    q = ts.quantize(w, dtype=f"u{bits}", group_size=64, zero=zero)
    g = ts.Graph("gpu_mma")
    x = g.input("x", shape=("M", 256))
    g.output(g.mpmm(x, q))
    fn = ts.compile(g, target="cuda")
    mode = "none" if q.zeros is None else ("float" if isinstance(q.zero_dtype, str) else "int")
    deq = ref.dequantize(q.codes, q.scales, q.group_size, q.zeros, mode)
    for m in (32, 70, 300):
        xv = rng.standard_normal((m, 256)).astype(np.float32)
        want = xv.astype(np.float64) @ deq.T
        bound = 2.0 ** -9 * (np.abs(xv) @ np.abs(deq).T) + 1e-5
        for out in (fn(x=xv), fn(x=ts.cuda.to_device(xv)).numpy()):
            err = np.abs(out - want)
            assert (err <= bound).all(), f"M={m}: max error {err.max():.3g}"


# --- the CUDA pipeline's fused mpmm kernel, run on the CPU --------------------
# tessera-lower-mpmm-to-parallel-loops emits one scf.parallel nest whose
# iterations become GPU threads; through the CPU pipeline the same nest runs
# as loops, so its decoding, group arithmetic, split-K chunks and atomic
# accumulation are checked here against the reference on every width.

KERNEL = """
func.func @mpmm(%x: tensor<?x{k}x{xt}>, %w: tensor<{n}x{k}x{wt}>, %s: tensor<{n}x{ng}x{st}>{extra},
                %init: tensor<?x{n}xf32>) -> tensor<?x{n}xf32> {{
  %y = tessera.mpmm %x, %w : tensor<?x{k}x{xt}>, tensor<{n}x{k}x{wt}> scales %s : tensor<{n}x{ng}x{st}>{zeros}{codebook} group_size {g} outs %init : tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
"""

FLOAT_CODES = {"!tessera.f4e2m1": (2, 1), "!tessera.f6e3m2": (3, 2), "f8E4M3FN": (4, 3),
               "!tessera.f5e2m2": (2, 2)}


def kernel_case(run, tmp_path, rng, *, wt, zero="none", n=13, k=48, g=16, xt="f32",
                st="f32", codebook=False, ms=(1, 2, 5, 17), mma=False, skinny=False):
    """mma: the tensor-core kernel for every M (emulated lane by lane), f16
    operands; skinny: the tensor-core kernel for few rows of x below 32
    rows (emulated), x rounded to f16; else the split-K kernel on CUDA
    cores in f32."""
    ng = k // g
    extra = zeros = cb = ""
    float_format = FLOAT_CODES.get(wt)
    if float_format:
        bits = 1 + sum(float_format)
        signed = False
    else:
        bits, signed = int(wt[2:]), wt.startswith("si")
    if zero == "int":
        extra += f", %z: tensor<{n}x{ng}x{wt}>"
        zeros = f" zeros %z : tensor<{n}x{ng}x{wt}>"
    elif zero == "float":
        extra += f", %z: tensor<{n}x{ng}x{st}>"
        zeros = f" zeros %z : tensor<{n}x{ng}x{st}>"
    if codebook:
        extra += f", %cb: tensor<{1 << bits}xf32>"
        cb = f" codebook %cb : tensor<{1 << bits}xf32>"
    text = KERNEL.format(n=n, k=k, g=g, ng=ng, wt=wt, xt=xt, st=st, extra=extra,
                         zeros=zeros, codebook=cb)
    options = ("=mma-min-rows=1 emulate-mma=true" if mma
               else "=mma-min-rows=32 emulate-mma=true emulate-warps=true" if skinny
               else "=mma-min-rows=0 emulate-warps=true")
    proc = subprocess.run([str(BUILD / "bin" / "tessera-opt"), "-",
                           "--tessera-pack-function-boundaries",
                           f"--tessera-lower-mpmm-to-parallel-loops{options}"],
                          input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lowered = proc.stdout
    assert "tessera.mpmm" not in lowered
    if mma:
        assert "memref.atomic_rmw" not in lowered  # every M on the emulated tensor cores
    else:
        assert "memref.atomic_rmw addf" in lowered
    np_float = {"f32": np.float32, "f16": np.float16}
    lo, hi = ref.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=(n, k))
    if float_format:  # no NaN patterns: e4m3's S.1111.111
        codes = np.where((codes & 0x7F) == 0x7F, 0, codes) if bits == 8 else codes
    scales = (0.5 + rng.random((n, ng))).astype(np_float[st])
    inputs = [ref.pack(codes, bits), scales]
    z = None
    if zero == "int":
        z = rng.integers(lo, hi + 1, size=(n, ng))
        inputs.append(ref.pack(z, bits))
    elif zero == "float":
        z = rng.standard_normal((n, ng)).astype(np_float[st])
        inputs.append(z)
    table = None
    if codebook:
        table = rng.standard_normal(1 << bits).astype(np.float32)
        inputs.append(table)
    deq = ref.dequantize(codes, scales, g, z, zero, table,
                         None if codebook else float_format)
    values = np.abs(deq)
    if zero == "int" and not mma:  # the kernel computes s * (sum x v - z * sum x)
        values = np.repeat(np.abs(scales.astype(np.float64)), g, axis=1) * (
            np.abs(ref.dequantize(codes, np.ones_like(scales), g, None, "none", table,
                                  None if codebook else float_format))
            + np.repeat(np.abs(z), g, axis=1))
    elif zero == "float":  # s * v + z, rounded in f32 before f16
        values = values + 2 * np.repeat(np.abs(z.astype(np.float64)), g, axis=1)
    for m in ms:
        x = rng.standard_normal((m, k)).astype(np_float[xt])
        init = rng.standard_normal((m, n)).astype(np.float32)
        y = run(lowered, "mpmm", [x] + inputs + [init])
        want = x.astype(np.float64) @ deq.T + init
        # f32 sums over K terms (and the group sums of x for zero points).
        bound = 4 * (k + 8) * 2.0 ** -24 * (np.abs(x.astype(np.float64)) @ values.T
                                            + np.abs(init)) + 1e-30
        if mma:  # x and the dequantized weights rounded to f16 (2^-11 each)
            bound += 2.0 ** -9 * (np.abs(x.astype(np.float64)) @ values.T)
        elif skinny and m < 32:  # x rounded to f16, the weights exact
            bound += 2.0 ** -10 * (np.abs(x.astype(np.float64)) @ values.T)
        assert y.shape == (m, n)
        err = np.abs(y - want)
        assert (err <= bound).all(), (
            f"M={m}: max error {err.max():.3g}, bound {bound.flat[np.argmax(err - bound)]:.3g}")
    return lowered


UNSIGNED = list(itertools.product(range(1, 9), ["none", "int", "float"]))


@pytest.mark.parametrize("bits,zero", matrix_params(UNSIGNED, lambda c: c[0]),
                         ids=[f"{z}-{b}" for b, z in UNSIGNED])
def test_gpu_kernel_numerics_unsigned(run, tmp_path, bits, zero):
    kernel_case(run, tmp_path, np.random.default_rng(), wt=f"ui{bits}", zero=zero)


@pytest.mark.parametrize("bits", range(2, 9))
def test_gpu_kernel_numerics_signed(run, tmp_path, bits):
    kernel_case(run, tmp_path, np.random.default_rng(), wt=f"si{bits}")


@pytest.mark.parametrize("wt", sorted(FLOAT_CODES))
def test_gpu_kernel_numerics_float_codes(run, tmp_path, wt):
    kernel_case(run, tmp_path, np.random.default_rng(), wt=wt, zero="float")


@pytest.mark.parametrize("bits", [2, 4])
def test_gpu_kernel_numerics_codebook(run, tmp_path, bits):
    kernel_case(run, tmp_path, np.random.default_rng(), wt=f"ui{bits}", codebook=True)


@pytest.mark.parametrize("shape", [(7, 8, 8), (5, 1024, 128), (9, 2048, 2048), (3, 600, 40)])
def test_gpu_kernel_numerics_chunks(run, tmp_path, shape):
    """Groups smaller and larger than a chunk (256 codes), K not a multiple of
    the chunk, one group per row (per-channel), a single group of 8."""
    n, k, g = shape
    kernel_case(run, tmp_path, np.random.default_rng(), wt="ui3", zero="int", n=n, k=k, g=g,
                ms=(1, 4, 6))


# The warp kernel (K and the group multiples of 32), its lanes emulated one
# after another: K = 1088 is two strips of 1024 codes, the second two lanes
# wide (the other lanes' units past K must add nothing), split between two
# warps; N = 13 leaves weight rows past N in the last warp; M = 1 (one row
# of x, four weight rows per warp) and 2, 5 (four rows of x, two weight rows
# per warp; rows of x past M).
WARP_SHAPE = dict(n=13, k=1088, g=64, ms=(1, 2, 5))
WARP_TYPES = ([(f"ui{b}", z) for b in range(1, 9) for z in ("none", "int", "float")]
              + [(f"si{b}", "none") for b in range(2, 9)]
              + [(t, "float") for t in sorted(FLOAT_CODES)])


@pytest.mark.parametrize("wt,zero", matrix_params(WARP_TYPES, lambda c: c[1]),
                         ids=[f"{t}-{z}" for t, z in WARP_TYPES])
def test_warp_kernel_numerics(run, tmp_path, wt, zero):
    lowered = kernel_case(run, tmp_path, np.random.default_rng(), wt=wt, zero=zero,
                          **WARP_SHAPE)
    bits = 1 + sum(FLOAT_CODES[wt]) if wt in FLOAT_CODES else int(wt[2:])
    # Runs of 8 codes interleaved across the lanes (b bytes per load) where
    # they are whole aligned bytes; else a lane's 32 codes in one load.
    assert f"vector<{bits if bits in (1, 2, 4, 8) else 4 * bits}xi8>" in lowered


@pytest.mark.parametrize("wt,zero", [("ui4", "int"), ("ui3", "float")])
def test_warp_kernel_numerics_row_blocks(run, tmp_path, wt, zero):
    """M = 1 with enough weight rows that a warp keeps x in registers for
    two groups of 4 rows (N = 6002 x 3 strips of K: 1501 row groups, the
    last block of 8 rows half past N)."""
    kernel_case(run, tmp_path, np.random.default_rng(), wt=wt, zero=zero, n=6002, k=3072,
                g=64, ms=(1,))


@pytest.mark.parametrize("variant", ["codebook", "f16"])
def test_warp_kernel_numerics_variants(run, tmp_path, variant):
    if variant == "codebook":
        kernel_case(run, tmp_path, np.random.default_rng(), wt="ui3", codebook=True,
                    **WARP_SHAPE)
    else:  # 16-bit activations and scales, float offsets
        kernel_case(run, tmp_path, np.random.default_rng(), wt="ui5", zero="float",
                    xt="f16", st="f16", **WARP_SHAPE)


def test_gpu_kernel_numerics_16_bit_operands(run, tmp_path):
    kernel_case(run, tmp_path, np.random.default_rng(), wt="ui5", zero="float", xt="f16",
                st="f16")


# --- the tensor-core kernel for few rows of x, emulated on the CPU ----------
# With mma-min-rows=32 emulate-mma=true, M below 32 runs the skinny kernel
# (integer codes of 1, 2, 4 and 8 bits, no float offsets) with each warp's
# lanes one after another and each mma.sync computed from the PTX layout.
# N = 40: a full pair of 16-row tiles and a partial one; K = 512: chunks of
# 128, 64 or 32 codes by the group (and the width: a lane's codes fill whole
# words), several chunks per warp; M = 1, 3, 8, 9, 17, 31: one to four
# blocks of 8 rows of x, partial ones, and M = 40 on the other kernel.

# The emulated warp's accumulators (lanes x 2 tiles x 4 elements).
SKINNY_ACCUMULATORS = "memref.alloca() : memref<32x2x4xf32>"
SKINNY_TYPES = ([(f"ui{b}", z) for b in (1, 2, 4, 8) for z in ("none", "int")]
                + [(f"si{b}", "none") for b in (2, 4, 8)])


@pytest.mark.parametrize("wt,zero", matrix_params(SKINNY_TYPES, lambda c: c[0]),
                         ids=[f"{t}-{z}" for t, z in SKINNY_TYPES])
def test_skinny_mma_kernel_numerics(run, tmp_path, wt, zero):
    lowered = kernel_case(run, tmp_path, np.random.default_rng(), wt=wt, zero=zero, n=40,
                          k=512, g=128, ms=(1, 3, 8, 9, 17, 31, 40), skinny=True)
    assert SKINNY_ACCUMULATORS in lowered


@pytest.mark.parametrize("bits,g,xt", [(4, 32, "f32"), (4, 64, "f32"), (2, 64, "f32"),
                                        (8, 32, "f32"), (1, 512, "f32"), (4, 128, "f16")])
def test_skinny_mma_kernel_chunks(run, tmp_path, bits, g, xt):
    """Chunks of 32 and 64 codes (groups of 32 and 64), one group per row;
    f16 activations and scales."""
    lowered = kernel_case(run, tmp_path, np.random.default_rng(), wt=f"ui{bits}", zero="int",
                          n=40, k=512, g=g, xt=xt, st=xt, ms=(1, 5, 12), skinny=True)
    assert SKINNY_ACCUMULATORS in lowered


def test_skinny_mma_kernel_other_codes_keep_the_warp_kernel(run, tmp_path):
    """3-bit codes and float offsets are not the skinny kernel's: the warp
    kernel on CUDA cores takes them (no accumulators of the skinny kernel's
    emulated warps)."""
    for wt, zero in (("ui3", "int"), ("ui4", "float")):
        lowered = kernel_case(run, tmp_path, np.random.default_rng(), wt=wt, zero=zero,
                              n=40, k=512, g=128, ms=(1, 5), skinny=True)
        assert SKINNY_ACCUMULATORS not in lowered


# --- the tensor-core kernel, emulated thread by thread on the CPU ------------
# With emulate-mma, between the kernel's barriers each block's 256 threads
# run its staging code (decode, dequantize, x to f16, into the staging
# buffers) one after another, then each warp's 32 lanes its fragment loads
# (the k relabelling) and, after every mma.sync m16n8k16 is computed from the
# PTX fragment layout, its result stores; mma-min-rows=1 sends every M
# through it, so partial warp and block tiles (M and N not multiples of 32,
# 128 and 64) are covered. A kernel with a
# wrong fragment layout fails here: swapping the k-slots of one A register,
# or the two columns of a C pair, fails every case.

MMA_SHAPES = dict(n=40, k=128, g=32, ms=(1, 5, 16, 70, 150))


@pytest.mark.parametrize("bits,zero", matrix_params(UNSIGNED, lambda c: c[0]),
                         ids=[f"{z}-{b}" for b, z in UNSIGNED])
def test_mma_kernel_numerics_unsigned(run, tmp_path, bits, zero):
    kernel_case(run, tmp_path, np.random.default_rng(), wt=f"ui{bits}", zero=zero,
                mma=True, **MMA_SHAPES)


@pytest.mark.parametrize("bits", range(2, 9))
def test_mma_kernel_numerics_signed(run, tmp_path, bits):
    kernel_case(run, tmp_path, np.random.default_rng(), wt=f"si{bits}", mma=True,
                **MMA_SHAPES)


@pytest.mark.parametrize("wt", sorted(FLOAT_CODES))
def test_mma_kernel_numerics_float_codes(run, tmp_path, wt):
    kernel_case(run, tmp_path, np.random.default_rng(), wt=wt, zero="float", mma=True,
                **MMA_SHAPES)


def test_mma_kernel_numerics_codebook(run, tmp_path):
    kernel_case(run, tmp_path, np.random.default_rng(), wt="ui4", codebook=True, mma=True,
                **MMA_SHAPES)


@pytest.mark.parametrize("shape", [(72, 64, 64), (9, 96, 96), (33, 256, 128)])
def test_mma_kernel_numerics_shapes(run, tmp_path, shape):
    """Per-channel groups, several n tiles and blocks, groups of several steps."""
    n, k, g = shape
    kernel_case(run, tmp_path, np.random.default_rng(), wt="ui3", zero="int", n=n, k=k,
                g=g, mma=True, ms=(3, 64, 129))


def test_mma_kernel_numerics_16_bit_operands(run, tmp_path):
    kernel_case(run, tmp_path, np.random.default_rng(), wt="ui5", zero="float", xt="f16",
                st="f16", mma=True, **MMA_SHAPES)


# --- f16 linalg.matmul on the tensor-core kernel, emulated on the CPU --------

MATMUL = """
func.func @mm(%a: tensor<?x{k}xf16>, %b: tensor<{k}x{n}xf16>, %c: tensor<?x{n}x{ct}>) -> tensor<?x{n}x{ct}> {{
  %y = linalg.matmul ins(%a, %b : tensor<?x{k}xf16>, tensor<{k}x{n}xf16>) outs(%c : tensor<?x{n}x{ct}>) -> tensor<?x{n}x{ct}>
  return %y : tensor<?x{n}x{ct}>
}}
"""


@pytest.mark.parametrize("ct", ["f32", "f16"])
@pytest.mark.parametrize("shape", [(40, 96), (72, 64), (130, 32)])
@pytest.mark.parametrize("min_rows", [1, 64])
def test_mma_matmul_numerics(run, tmp_path, ct, shape, min_rows):
    """B staged transposed, partial tiles in M and N; with min-rows=64 the
    small M run the matmul itself (the run-time choice; for an f16 result
    linalg.matmul accumulates in f16, the tensor cores in f32)."""
    n, k = shape
    proc = subprocess.run([str(BUILD / "bin" / "tessera-opt"), "-",
                           f"--tessera-lower-matmul-to-mma=min-rows={min_rows} emulate-mma=true"],
                          input=MATMUL.format(n=n, k=k, ct=ct), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lowered = proc.stdout
    assert "memref.alloca() {alignment = 16 : i64} : memref<2x64x32xf16>" in lowered
    rng = np.random.default_rng()
    np_ct = {"f32": np.float32, "f16": np.float16}[ct]
    for m in (1, 5, 70, 150):
        a = rng.standard_normal((m, k)).astype(np.float16)
        b = rng.standard_normal((k, n)).astype(np.float16)
        c = rng.standard_normal((m, n)).astype(np_ct)
        y = run(lowered, "mm", [a, b, c])
        want = a.astype(np.float64) @ b.astype(np.float64) + c
        # Exact f16 products summed in f32 (and rounded to f16).
        magnitude = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)) + np.abs(c)
        bound = 4 * (k + 8) * 2.0 ** -24 * magnitude + 1e-30
        if ct == "f16" and m >= min_rows:
            bound += 2.0 ** -11 * np.abs(want) + 2.0 ** -24
        elif ct == "f16":  # linalg.matmul itself accumulates in f16
            bound = (k + 2) * 2.0 ** -11 * magnitude + 2.0 ** -24
        err = np.abs(y.astype(np.float64) - want)
        assert y.shape == (m, n) and (err <= bound).all(), f"M={m}: max error {err.max():.3g}"


@needs_ptxas
def test_ptxas_matmul_kernel(compile_tool, tmp_path):
    """The f16 matmul's tensor-core kernel: 16 mma.sync, no spills."""
    src = tmp_path / "mm.mlir"
    src.write_text(MATMUL.format(n=4096, k=4096, ct="f32"))
    for arch in ARCHS:
        ptx = tmp_path / f"mm-{arch}.ptx"
        proc = subprocess.run([compile_tool, str(src), f"--target=cuda:{arch}", "--emit=ptx",
                               "-o", str(ptx)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert ptx.read_text().count(MMA) == 16
        for i, module in enumerate(ptx.read_text().split("// ---- kernel module ")[1:]):
            one = tmp_path / f"mm{i}.ptx"
            one.write_text(module.split("\n", 1)[1])
            report = subprocess.run([PTXAS, f"-arch={arch}", "-v", str(one), "-o",
                                     str(tmp_path / "k.cubin")], capture_output=True, text=True)
            assert report.returncode == 0, report.stderr
            spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads",
                                report.stderr)
            assert spills and all(s == ("0", "0") for s in spills), report.stderr


@needs_gpu
@pytest.mark.parametrize("m", [7, 32, 300])
def test_f16_matmul_on_gpu_matches_reference(m, tmp_path, monkeypatch):
    """f16 operands: tensor cores from M = 32, the reference kernel below."""
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    g = ts.Graph("gpu_matmul")
    a = g.input("a", shape=("M", 256), dtype="f16")
    b = g.input("b", shape=(256, 136), dtype="f16")
    g.output(g.matmul(a, b))
    fn = ts.compile(g, target="cuda")
    rng = np.random.default_rng()
    av = rng.standard_normal((m, 256)).astype(np.float16)
    bv = rng.standard_normal((256, 136)).astype(np.float16)
    want = av.astype(np.float64) @ bv.astype(np.float64)
    bound = 4 * 264 * 2.0 ** -24 * (np.abs(av.astype(np.float64)) @ np.abs(bv.astype(np.float64)))
    err = np.abs(fn(a=av, b=bv) - want)
    assert (err <= bound + 1e-30).all(), f"max error {err.max():.3g}"
