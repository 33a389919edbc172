"""tessera-compile: shared libraries of C functions, called through ctypes
and from C, checked against the numpy reference; the ABI's argument checks;
dependencies; reproducible output."""

import ctypes
import json
import pathlib
import subprocess

import numpy as np
import pytest

import tessera as ts
from tessera import reference as ref

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def compile_tool(tessera_run):
    return str(pathlib.Path(tessera_run).parent / "tessera-compile")


def compile_module(tool, tmp_path, text, name, *extra):
    src = tmp_path / f"{name}.mlir"
    src.write_text(text)
    lib = tmp_path / f"lib{name}.so"
    proc = subprocess.run([tool, str(src), "-o", str(lib), "--header",
                           str(tmp_path / f"{name}.h"), *extra],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return lib


def ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


MPMM = """
func.func @mpmm(%x: tensor<?x{k}xf32>, %w: tensor<{n}x{k}x{wt}>, %s: tensor<{n}x{ng}xf32>, %z: tensor<{n}x{ng}x{wt}>) -> tensor<?x{n}xf32> {{
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x{k}xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x{n}xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x{n}xf32>) -> tensor<?x{n}xf32>
  %y = tessera.mpmm %x, %w : tensor<?x{k}xf32>, tensor<{n}x{k}x{wt}> scales %s : tensor<{n}x{ng}xf32> zeros %z : tensor<{n}x{ng}x{wt}> group_size {g} outs %i : tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}
"""


@pytest.mark.parametrize("bits,signed", [(2, False), (3, False), (4, True), (5, True), (8, False)])
def test_mpmm_library_through_ctypes(compile_tool, tmp_path, bits, signed):
    rng = np.random.default_rng()
    n, k, g = 13, 128, 32
    wt = f"{'s' if signed else 'u'}i{bits}"
    lib_path = compile_module(compile_tool, tmp_path,
                              MPMM.format(n=n, k=k, g=g, ng=k // g, wt=wt), "mm")
    lib = ctypes.CDLL(str(lib_path))
    lo, hi = ref.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=(n, k))
    zeros = rng.integers(lo, hi + 1, size=(n, k // g))
    scales = rng.uniform(0.1, 1, size=(n, k // g)).astype(np.float32)
    w, z = ref.pack(codes, bits), ref.pack(zeros, bits)
    for m in (1, 3, 17):
        x = rng.standard_normal((m, k)).astype(np.float32)
        y = np.zeros((m, n), np.float32)
        status = lib.mm_mpmm(ptr(x), ctypes.c_int64(m), ptr(w), ptr(scales), ptr(z),
                             ptr(y), ctypes.c_int64(m))
        assert status == 0, lib.mm_last_error
        want = ref.mpmm(x, codes, scales, g, zeros, "int")
        bound = ref.mpmm_error_bound(x, codes, scales, g, zeros, "int")
        assert np.all(np.abs(y - want) <= bound)
    assert lib.mm_abi_version() == 1


GRAPH = """
func.func @block(%x: tensor<?x64xf32>, %w: tensor<32x64xui4>, %s: tensor<32x2xf16>, %b: tensor<32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x32xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %y = tessera.mpmm %x, %w : tensor<?x64xf32>, tensor<32x64xui4> scales %s : tensor<32x2xf16> group_size 32 outs %i : tensor<?x32xf32>
  %biased = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
                            iterator_types = ["parallel", "parallel"]}
      ins(%y, %b : tensor<?x32xf32>, tensor<32xf32>) outs(%e : tensor<?x32xf32>) {
  ^bb0(%v: f32, %bias: f32, %o: f32):
    %a = arith.addf %v, %bias : f32
    linalg.yield %a : f32
  } -> tensor<?x32xf32>
  %t = math.tanh %biased : tensor<?x32xf32>
  %sq = arith.mulf %t, %t : tensor<?x32xf32>
  return %t, %sq : tensor<?x32xf32>, tensor<?x32xf32>
}
"""


def test_graph_with_elementwise_ops_and_two_results(compile_tool, tmp_path):
    rng = np.random.default_rng()
    lib = ctypes.CDLL(str(compile_module(compile_tool, tmp_path, GRAPH, "blk")))
    codes = rng.integers(0, 16, size=(32, 64))
    scales = rng.uniform(0.01, 0.05, size=(32, 2)).astype(np.float16)
    bias = rng.standard_normal(32).astype(np.float32)
    x = rng.standard_normal((7, 64)).astype(np.float32)
    t = np.zeros((7, 32), np.float32)
    sq = np.zeros((7, 32), np.float32)
    # 4-bit weights with N = 32 are read interleaved by 8 rows: the caller
    # converts the canonical packing once with the exported prepack function.
    canonical = ref.pack(codes, 4)
    w = np.zeros_like(canonical)
    assert lib.blk_prepack_block_arg1(ptr(canonical), ptr(w)) == 0
    assert not np.array_equal(w, canonical)
    status = lib.blk_block(ptr(x), ctypes.c_int64(7), ptr(w), ptr(scales),
                           ptr(bias), ptr(t), ctypes.c_int64(7), ptr(sq), ctypes.c_int64(7))
    assert status == 0
    want = np.tanh(ref.mpmm(x, codes, scales, 32) + bias)
    assert np.allclose(t, want, atol=1e-5)
    assert np.allclose(sq, want * want, atol=1e-5)


@pytest.fixture
def mm_lib(compile_tool, tmp_path):
    text = MPMM.format(n=8, k=64, g=32, ng=2, wt="ui3")
    return ctypes.CDLL(str(compile_module(compile_tool, tmp_path, text, "bad")))


def good_args():
    rng = np.random.default_rng()
    x = rng.standard_normal((3, 64)).astype(np.float32)
    w = ref.pack(rng.integers(0, 8, size=(8, 64)), 3)
    s = np.ones((8, 2), np.float32)
    z = ref.pack(rng.integers(0, 8, size=(8, 2)), 3)
    y = np.zeros((3, 8), np.float32)
    return x, w, s, z, y


def call(lib, x, m, w, s, z, y, ym):
    lib.bad_last_error.restype = ctypes.c_char_p
    status = lib.bad_mpmm(x, ctypes.c_int64(m), w, s, z, y, ctypes.c_int64(ym))
    return status, lib.bad_last_error().decode()


@pytest.mark.parametrize("case,message", [
    ("null_input", "mpmm: input 'arg0' is a null pointer"),
    ("null_weights", "mpmm: input 'arg1' is a null pointer"),
    ("null_result", "mpmm: result 'result0' is a null pointer"),
    ("negative_dim", "mpmm: input 'arg0': dimension 0 is negative (-3)"),
    ("overflow", "mpmm: input 'arg0': its size overflows 64 bits"),
    ("misaligned", "mpmm: input 'arg0' is misaligned: f32 needs 4-byte alignment"),
    ("misaligned_scales", "mpmm: input 'arg2' is misaligned: f32 needs 4-byte alignment"),
    ("wrong_result_shape", "mpmm: result 'result0': dimension 0 is 2, but it must equal "
                           "dimension 0 of input 'arg0', which is 3"),
])
def test_bad_arguments(mm_lib, case, message):
    x, w, s, z, y = good_args()
    args = [ptr(x), 3, ptr(w), ptr(s), ptr(z), ptr(y), 3]
    raw = bytearray(x.tobytes() + b"\0")
    if case == "null_input":
        args[0] = None
    elif case == "null_weights":
        args[2] = None
    elif case == "null_result":
        args[5] = None
    elif case == "negative_dim":
        args[1] = -3
    elif case == "overflow":
        args[1] = 1 << 62
    elif case == "misaligned":
        buf = (ctypes.c_char * len(raw)).from_buffer(raw)
        args[0] = ctypes.c_void_p(ctypes.addressof(buf) + 1)
    elif case == "misaligned_scales":
        sraw = bytearray(s.tobytes() + b"\0\0\0\0")
        sbuf = (ctypes.c_char * len(sraw)).from_buffer(sraw)
        args[3] = ctypes.c_void_p(ctypes.addressof(sbuf) + 2)
    elif case == "wrong_result_shape":
        args[6] = 2
    status, error = call(mm_lib, *args)
    assert status == 1
    assert error == message
    # The next good call works and clears the message.
    status, error = call(mm_lib, ptr(x), 3, ptr(w), ptr(s), ptr(z), ptr(y), 3)
    assert status == 0 and error == ""


def test_invoke_calls_a_function_by_its_index(mm_lib):
    """P_invoke(index, args): the function's parameters gathered in an array
    give what its own entry point gives, checked alike; an index out of
    range is an invalid argument."""
    mm_lib.bad_signature.restype = ctypes.c_char_p
    names = [f["name"] for f in json.loads(mm_lib.bad_signature().decode())]
    mm_lib.bad_invoke.argtypes = [ctypes.c_int32, ctypes.c_void_p]
    mm_lib.bad_last_error.restype = ctypes.c_char_p
    x, w, s, z, y = good_args()
    status, error = call(mm_lib, ptr(x), 3, ptr(w), ptr(s), ptr(z), ptr(y), 3)
    assert status == 0, error
    got = np.full_like(y, np.nan)
    args = (ctypes.c_void_p * 7)(x.ctypes.data, 3, w.ctypes.data, s.ctypes.data,
                                 z.ctypes.data, got.ctypes.data, 3)
    assert mm_lib.bad_invoke(names.index("mpmm"), args) == 0
    np.testing.assert_array_equal(got, y)
    for index in (len(names), -1):
        assert mm_lib.bad_invoke(index, args) == 1
        assert mm_lib.bad_last_error().decode() == (
            f"no function {index}: the library has {len(names)} (0 to {len(names) - 1})")
    args[2] = None
    assert mm_lib.bad_invoke(names.index("mpmm"), args) == 1
    assert mm_lib.bad_last_error().decode() == "mpmm: input 'arg1' is a null pointer"


def test_loaded_function_with_a_result_size_it_cannot_tell(compile_tool, tmp_path):
    """tessera.load's calls (through P_invoke) size each result from the
    named sizes of the inputs; an unnamed dynamic result size is an error
    that says so, not a call with a wrong buffer."""
    lib = compile_module(compile_tool, tmp_path, """
func.func @double(%x: tensor<?xf32>) -> tensor<?xf32> {
  %y = arith.addf %x, %x : tensor<?xf32>
  return %y : tensor<?xf32>
}
""", "dyn")
    f = ts.load(lib)
    with pytest.raises(ValueError, match="double\\(\\): cannot tell the size of dimension 0 "
                       "of result 'result0': name it with tessera.dims"):
        f(np.random.default_rng().standard_normal(5).astype(np.float32))


@pytest.mark.parametrize("name", ["invoke", "signature", "num_threads"])
def test_function_names_the_library_defines_are_rejected(compile_tool, tmp_path, name):
    src = tmp_path / "clash.mlir"
    src.write_text(f"func.func @{name}(%x: tensor<4xf32>) -> tensor<4xf32> {{\n"
                   "  return %x : tensor<4xf32>\n}\n")
    proc = subprocess.run([compile_tool, str(src), "-o", str(tmp_path / "libclash.so")],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert (f"function '{name}' would export clash_{name}, a symbol every library "
            "defines") in proc.stderr, proc.stderr


def test_dependencies_are_libc_only(compile_tool, tmp_path):
    lib = compile_module(compile_tool, tmp_path, GRAPH, "deps")
    dyn = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
    needed = sorted(line.split("[")[1].rstrip("]") for line in dyn.splitlines()
                    if "(NEEDED)" in line)
    allowed = {"libc.so.6", "libm.so.6", "libpthread.so.0", "ld-linux-x86-64.so.2"}
    assert needed and set(needed) <= allowed, needed
    syms = subprocess.run(["nm", "-D", "--defined-only", str(lib)],
                          capture_output=True, text=True).stdout.split()
    assert set(s for s in syms if s.startswith("deps_")) == {
        "deps_block", "deps_last_error", "deps_abi_version", "deps_signature",
        "deps_set_num_threads", "deps_num_threads", "deps_target", "deps_invoke",
        "deps_prepack_block_arg1"}
    assert not any(s.startswith("tessera_rt") for s in syms)


def test_reproducible(compile_tool, tmp_path):
    a = compile_module(compile_tool, tmp_path, GRAPH, "same").read_bytes()
    (tmp_path / "again").mkdir()
    b = compile_module(compile_tool, tmp_path / "again", GRAPH, "same").read_bytes()
    assert a == b


def test_c_example(compile_tool, tmp_path):
    """examples/c/linear.c against a library built from examples/mpmm.mlir,
    with the system C compiler, as the README shows."""
    lib = tmp_path / "libmpmm.so"
    subprocess.run([compile_tool, str(ROOT / "examples" / "mpmm.mlir"), "-o", str(lib),
                    "--header", str(tmp_path / "mpmm.h")], check=True)
    # The header says which inputs take a layout, the f16 scales included.
    header = (tmp_path / "mpmm.h").read_text()
    assert ("arg2 (input): f16 [1 x 4 x 64] (IEEE half bit patterns), row-major, 2-byte "
            "aligned: the 64 x 4 tensor in the storage layout #tessera.layout<tile = [64, 1]> "
            "(convert the row-major one once with <prefix>_prepack_linear_arg2)") in header
    assert "int32_t mpmm_prepack_linear_arg2(const uint16_t *arg2, uint16_t *arg2_prepacked);" \
        in header
    exe = tmp_path / "linear"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-I", str(tmp_path),
                    str(ROOT / "examples" / "c" / "linear.c"), "-L", str(tmp_path),
                    "-lmpmm", f"-Wl,-rpath,{tmp_path}", "-lm", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS" in out.stdout


def test_constant_weights_are_embedded_packed(compile_tool, tmp_path):
    """Weights given as a constant are packed at compile time: the function
    takes only x, and the library holds ~n*k*b/8 bytes of weights."""
    rng = np.random.default_rng()
    n, k, bits = 64, 512, 3
    codes = rng.integers(0, 8, size=(n, k))
    scales = rng.uniform(0.1, 1, size=(n, k // 128)).astype(np.float32)
    rows = ", ".join("[" + ", ".join(map(str, r)) + "]" for r in codes)
    srows = ", ".join("[" + ", ".join(repr(float(v)) for v in r) + "]" for r in scales)
    text = f"""
func.func @layer(%x: tensor<?x{k}xf32>) -> tensor<?x{n}xf32> {{
  %w = arith.constant dense<[{rows}]> : tensor<{n}x{k}xui3>
  %s = arith.constant dense<[{srows}]> : tensor<{n}x4xf32>
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x{k}xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x{n}xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x{n}xf32>) -> tensor<?x{n}xf32>
  %y = tessera.mpmm %x, %w : tensor<?x{k}xf32>, tensor<{n}x{k}xui3> scales %s : tensor<{n}x4xf32> group_size 128 outs %i : tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}"""
    path = compile_module(compile_tool, tmp_path, text, "cw")
    header = (tmp_path / "cw.h").read_text()
    assert "int32_t cw_layer(const float *arg0, int64_t arg0_dim0, float *result0, int64_t result0_dim0);" in header
    lib = ctypes.CDLL(str(path))
    x = rng.standard_normal((5, k)).astype(np.float32)
    y = np.zeros((5, n), np.float32)
    assert lib.cw_layer(ptr(x), ctypes.c_int64(5), ptr(y), ctypes.c_int64(5)) == 0
    want = ref.mpmm(x, codes, scales, 128)
    assert np.all(np.abs(y - want) <= ref.mpmm_error_bound(x, codes, scales, 128))
    packed_bytes = n * k * bits // 8
    assert path.stat().st_size < packed_bytes + 64 * 1024  # not n * k bytes


def test_thread_count_controls(compile_tool, tmp_path):
    lib = ctypes.CDLL(str(compile_module(compile_tool, tmp_path, GRAPH, "thr")))
    assert lib.thr_num_threads() >= 1
    lib.thr_set_num_threads(3)
    assert lib.thr_num_threads() == 3
    lib.thr_set_num_threads(0)
    assert lib.thr_num_threads() >= 1


ADD = """
func.func @add(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %n = tensor.dim %a, %c1 : tensor<?x?xf32>
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %s = linalg.add ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>)
                  outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %s : tensor<?x?xf32>
}
"""


@pytest.mark.parametrize("b_shape,message", [
    ((3, 70), "add: input 'arg1': dimension 1 is 70, but it must equal dimension 1 "
              "of input 'arg0', which is 700"),
    ((2, 700), "add: input 'arg1': dimension 0 is 2, but it must equal dimension 0 "
               "of input 'arg0', which is 3"),
])
def test_sizes_the_body_relates_are_checked(compile_tool, tmp_path, b_shape, message):
    # No tessera.dims: the equalities come from the body (linalg.add's loops).
    # Before they were checked, b was read as 3 x 700 past its end (found by
    # tessera-abi-fuzzer).
    lib = ctypes.CDLL(str(compile_module(compile_tool, tmp_path, ADD, "add")))
    lib.add_last_error.restype = ctypes.c_char_p
    rng = np.random.default_rng()
    a = rng.standard_normal((3, 700)).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    out = np.zeros((3, 700), np.float32)
    I = ctypes.c_int64
    status = lib.add_add(ptr(a), I(3), I(700), ptr(b), I(b_shape[0]), I(b_shape[1]),
                         ptr(out), I(3), I(700))
    assert status == 1 and lib.add_last_error().decode() == message
    b = rng.standard_normal((3, 700)).astype(np.float32)
    status = lib.add_add(ptr(a), I(3), I(700), ptr(b), I(3), I(700), ptr(out), I(3), I(700))
    assert status == 0 and np.array_equal(out, a + b)
    # The JIT checks the same sizes.
    fn = ts.compile(ADD)
    with pytest.raises(ValueError, match="dimension 0 is 2, but it must equal dimension 0"):
        fn(a, rng.standard_normal((2, 700)).astype(np.float32))
