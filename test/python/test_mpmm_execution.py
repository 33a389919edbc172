"""Compiled tessera.mpmm against the numpy reference on fresh random inputs.

The matrix of issue 2: every width 1-8 x signed/unsigned x the three
zero-point modes x group sizes {32, 128, K} x scales in f32 and f16, each run
at M = 1, 3, 13 and 71 (M is dynamic; register blocks of 8, 4 and 1 rows, two row chunks) with N not a multiple of 8. Weights (and
integer zero points) cross the function boundary in their canonical packed
storage, packed here by the independent reference packer.
"""

import itertools
import os
import pathlib
import subprocess

import numpy as np
import pytest

import tessera as ts
from matrices import matrix_params
from tessera import reference

ROOT = pathlib.Path(__file__).resolve().parents[2]
K = 256
GROUP_SIZES = (32, 128, K)
N_CHOICES = (5, 13, 19)  # none a multiple of 8
M_VALUES = (1, 3, 13, 71)

MATRIX = [
    (bits, signed, zero_mode, group, scale_dtype)
    for bits, signed, zero_mode, group, scale_dtype in itertools.product(
        range(1, 9), (False, True), ("none", "int", "float"), GROUP_SIZES,
        ("f32", "f16"))
]


def int_type(bits, signed):
    return f"{'s' if signed else 'u'}i{bits}"


def mpmm_module(n, k, bits, signed, zero_mode, group, scale_dtype, zero_type,
                x_dtype="f32", out_dtype="f32", with_init=False, codebook=None):
    """A function @mpmm(x, w[, s][, z][, codebook][, init]) -> y, M dynamic."""
    wt = int_type(bits, signed)
    ng = k // group
    args = [f"%x: tensor<?x{k}x{x_dtype}>", f"%w: tensor<{n}x{k}x{wt}>",
            f"%s: tensor<{n}x{ng}x{scale_dtype}>"]
    extra = ""
    if zero_mode != "none":
        args.append(f"%z: tensor<{n}x{ng}x{zero_type}>")
        extra += f" zeros %z : tensor<{n}x{ng}x{zero_type}>"
    if codebook is not None:
        args.append(f"%cb: tensor<{1 << bits}x{codebook}>")
        extra += f" codebook %cb : tensor<{1 << bits}x{codebook}>"
    if with_init:
        args.append(f"%init: tensor<?x{n}x{out_dtype}>")
        init = "%init"
        prologue = ""
    else:
        init = "%filled"
        prologue = f"""
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x{k}x{x_dtype}>
  %zero = arith.constant 0.0 : {out_dtype}
  %empty = tensor.empty(%m) : tensor<?x{n}x{out_dtype}>
  %filled = linalg.fill ins(%zero : {out_dtype}) outs(%empty : tensor<?x{n}x{out_dtype}>) -> tensor<?x{n}x{out_dtype}>"""
    return f"""
func.func @mpmm({", ".join(args)}) -> tensor<?x{n}x{out_dtype}> {{{prologue}
  %y = tessera.mpmm %x, %w : tensor<?x{k}x{x_dtype}>, tensor<{n}x{k}x{wt}>
         scales %s : tensor<{n}x{ng}x{scale_dtype}>{extra}
         group_size {group} outs {init} : tensor<?x{n}x{out_dtype}>
  return %y : tensor<?x{n}x{out_dtype}>
}}
"""


NP_FLOAT = {"f32": np.float32, "f16": np.float16}


TILE_SCRIPT = """
module attributes {{transform.with_named_sequence}} {{
  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}}) {{
    %mm = transform.structured.match ops{{["tessera.mpmm"]}} in %root
      : (!transform.any_op) -> !transform.any_op
    %t, %l = transform.structured.tile_using_forall %mm tile_sizes [{rows}, {columns}]
      : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }}
}}
"""


def tile_module(module, tile):
    """Tiles the mpmm of `module` (a file) in place by upstream tiling
    (transform.structured.tile_using_forall through its TilingInterface)."""
    script = module.parent / "tile.mlir"
    script.write_text(TILE_SCRIPT.format(rows=tile[0], columns=tile[1]))
    opt = pathlib.Path(os.environ.get("TESSERA_BUILD_DIR", ROOT / "build")) / "bin" / "tessera-opt"
    proc = subprocess.run(
        [str(opt), str(module), f"--transform-preload-library=transform-library-paths={script}",
         "--transform-interpreter", "--canonicalize"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "scf.forall" in proc.stdout
    module.write_text(proc.stdout)


def run_case(tessera_run, tmp_path, rng, n, k, bits, signed, zero_mode, group,
             scale_dtype, zero_type=None, with_init=False, codebook=None,
             x_dtype="f32", out_dtype="f32", tile=None, m_values=M_VALUES, layouts=True,
             tool=False, activations=None):
    """Runs the mpmm at every M of `m_values`; `tile` (rows, columns): tiled
    first by upstream tiling. Compiled once, in process (tessera.compile),
    where weights the kernel reads interleaved are prepacked at each call;
    `tool`: by tessera-run at each M instead (which prepacks them); `layouts`
    False: by tessera-run --dequantize-layouts=false, the weights in their
    canonical storage."""
    if zero_type is None:
        zero_type = int_type(bits, signed) if zero_mode == "int" else scale_dtype
    module = tmp_path / "mpmm.mlir"
    module.write_text(mpmm_module(n, k, bits, signed, zero_mode, group,
                                  scale_dtype, zero_type, x_dtype, out_dtype,
                                  with_init, codebook))
    if tile is not None:
        tile_module(module, tile)
    lo, hi = reference.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=(n, k))
    ng = k // group
    # Scales of either sign and spread magnitude, exactly representable.
    scales = (rng.uniform(0.25, 2.0, size=(n, ng)) *
              rng.choice([-1, 1], size=(n, ng))).astype(NP_FLOAT[scale_dtype])
    inputs = {"w": reference.pack(codes, bits), "s": scales}
    zeros = None
    if zero_mode == "int":
        zbits = int(zero_type[2:])
        zsigned = zero_type.startswith("s")
        zlo, zhi = reference.code_range(zbits, zsigned)
        zeros = rng.integers(zlo, zhi + 1, size=(n, ng))
        inputs["z"] = reference.pack(zeros, zbits)
    elif zero_mode == "float":
        zeros = rng.standard_normal((n, ng)).astype(NP_FLOAT[zero_type])
        inputs["z"] = zeros
    table = None
    if codebook is not None:
        table = rng.standard_normal(1 << bits).astype(NP_FLOAT[codebook])
        inputs["cb"] = table
    tool = tool or not layouts
    if not tool:
        function = ts.compile(module.read_text(), entry="mpmm")

    for m in m_values:
        x = (activations(rng, m, k) if activations else rng.standard_normal((m, k))).astype(
            NP_FLOAT[x_dtype])
        init = None
        if with_init:
            init = rng.standard_normal((m, n)).astype(NP_FLOAT[out_dtype])
        arguments = [x] + list(inputs.values()) + ([init] if with_init else [])
        if not tool:
            y = function(*arguments)
        else:
            cmd = [tessera_run, str(module), "-e", "mpmm", "-o", str(tmp_path / "y.npy")]
            if not layouts:
                cmd.append("--dequantize-layouts=false")
            for i, value in enumerate(arguments):
                np.save(tmp_path / f"arg{i}.npy", value)
                cmd += ["-i", str(tmp_path / f"arg{i}.npy")]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr + proc.stdout
            y = np.load(tmp_path / "y.npy")
        assert y.shape == (m, n)
        want = reference.mpmm(x, codes, scales, group, zeros, zero_mode,
                              table, init)
        bound = reference.mpmm_error_bound(x, codes, scales, group, zeros,
                                           zero_mode, table)
        if out_dtype != "f32":
            # One final rounding to the 16-bit result format.
            bound = bound + np.abs(want) * 2.0 ** -10 + 2.0 ** -24
        if init is not None:
            bound = bound + np.abs(init.astype(np.float64)) * 2.0 ** -23
        err = np.abs(y.astype(np.float64) - want)
        worst = np.unravel_index(np.argmax(err - bound), err.shape)
        assert (err <= bound).all(), (
            f"M={m}: |y - ref| = {err[worst]:.3g} > bound {bound[worst]:.3g} "
            f"at {worst}: got {y[worst]}, want {want[worst]}")


@pytest.mark.parametrize(
    "bits,signed,zero_mode,group,scale_dtype", matrix_params(MATRIX, lambda c: c[:2]),
    ids=[f"{int_type(b, s)}-{z}-g{g}-{sd}" for b, s, z, g, sd in MATRIX])
def test_mpmm_matrix(tessera_run, tmp_path, bits, signed, zero_mode, group,
                     scale_dtype):
    case = MATRIX.index((bits, signed, zero_mode, group, scale_dtype))
    rng = np.random.default_rng()  # fresh inputs every run
    n = N_CHOICES[case % len(N_CHOICES)]
    run_case(tessera_run, tmp_path, rng, n, K, bits, signed, zero_mode, group,
             scale_dtype)


@pytest.mark.parametrize("zero_type", ["ui8", "si8", "ui2", "si4"])
def test_mpmm_wide_integer_zero_points(tessera_run, tmp_path, zero_type):
    run_case(tessera_run, tmp_path, np.random.default_rng(), 7, 96, 3, False,
             "int", 32, "f32", zero_type=zero_type)


@pytest.mark.parametrize("x_dtype,out_dtype", [("f16", "f32"), ("f32", "f16"),
                                               ("f16", "f16")])
def test_mpmm_half_activations_and_results(tessera_run, tmp_path, x_dtype,
                                           out_dtype):
    run_case(tessera_run, tmp_path, np.random.default_rng(), 11, 64, 4, True,
             "float", 32, "f16", x_dtype=x_dtype, out_dtype=out_dtype)


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_mpmm_codebook(tessera_run, tmp_path, bits):
    run_case(tessera_run, tmp_path, np.random.default_rng(), 9, 64, bits, False,
             "none", 64, "f32", codebook="f32")


def test_mpmm_accumulates_into_init(tessera_run, tmp_path):
    run_case(tessera_run, tmp_path, np.random.default_rng(), 6, 128, 5, True,
             "int", 128, "f32", with_init=True)


def test_mpmm_k_not_a_power_of_two(tessera_run, tmp_path):
    # K = 96 with per-channel groups: rows end mid-byte for 3-bit codes.
    run_case(tessera_run, tmp_path, np.random.default_rng(), 13, 96, 3, False,
             "int", 96, "f16")


@pytest.mark.parametrize("bits,signed,zero_mode", [(3, False, "int"), (4, True, "float"),
                                                   (7, True, "none"), (8, False, "int")])
def test_mpmm_cache_tiles(tessera_run, tmp_path, bits, signed, zero_mode):
    # K = 1088 with groups of 32: K blocks of 16 groups, the last one
    # partial; N = 300: two column tiles of 128 (the GEMM path at M = 71)
    # and a partial one.
    run_case(tessera_run, tmp_path, np.random.default_rng(), 300, 1088, bits,
             signed, zero_mode, 32, "f16")


@pytest.mark.parametrize("bits,signed,zero_mode,k,group", [
    (3, False, "int", 384, 64),    # 4 groups per panel of 256 codes
    (5, True, "float", 1024, 512),  # a group spans two panels
    (6, False, "int", 384, 96),    # neither divides the other: per 8 codes
    (2, True, "none", 288, 32),    # a partial last panel
])
def test_mpmm_gemm_groups(tessera_run, tmp_path, bits, signed, zero_mode, k, group):
    # The GEMM path (N = 300: two full column tiles of 128 and a partial one)
    # from 16 rows, for its full blocks of 8 rows (M = 16, 21: 16 rows, then
    # the row blocks; 71). Its panel fill reads a group's scales and zero
    # points once per segment of the panel within one group.
    run_case(tessera_run, tmp_path, np.random.default_rng(), 300, k, bits, signed,
             zero_mode, group, "f16", m_values=(16, 21, 71))


@pytest.mark.parametrize("signed,zero_mode,n", [(False, "int", 200), (True, "none", 300),
                                                 (True, "float", 200), (False, "float", 300)])
def test_mpmm_spread_columns(tessera_run, tmp_path, signed, zero_mode, n):
    # 8-bit codes on AVX2: single rows take 4 columns 16 apart in blocks of
    # 64 columns (N = 200: one tile, three blocks and 8 columns past them;
    # 300: a full tile of four blocks and a partial one of none), after the
    # blocks of rows (M = 13: 8 and 4 rows, then one; 2 and 3: single rows).
    # Canonical storage (N = 200 would be interleaved).
    run_case(tessera_run, tmp_path, np.random.default_rng(), n, 512, 8, signed,
             zero_mode, 128, "f16", m_values=(1, 2, 3, 13), layouts=False)


@pytest.mark.parametrize("bits,k", [(1, 8), (1, 16), (1, 24), (2, 8), (3, 8)])
def test_mpmm_short_rows(tessera_run, tmp_path, bits, k):
    # Rows of 1 to 3 bytes: 4-byte word reads only where the next row has
    # the 3 bytes they may read past a run; the last column reads exactly.
    run_case(tessera_run, tmp_path, np.random.default_rng(), 5, k, bits, False,
             "int", 8, "f32")


@pytest.mark.parametrize("bits,signed,zero_mode,n,tile", [
    (1, False, "int", 300, (0, 50)),
    (2, True, "none", 300, (16, 100)),
    (3, False, "int", 300, (8, 60)),
    (5, True, "float", 300, (0, 150)),
    (8, False, "int", 300, (32, 300)),
    (4, False, "int", 512, (0, 256)),  # the GEMM path in each tile at M = 71
    (6, True, "int", 512, (64, 128)),
])
@pytest.mark.parametrize("layouts", [False, True], ids=["canonical", "layouts"])
def test_mpmm_tiled_by_upstream_tiling(tessera_run, tmp_path, bits, signed, zero_mode, n,
                                       tile, layouts):
    # Each tile is an mpmm of slices (rows of x, rows of the weights, scales
    # and zero points): the vector kernel reads the tile's rows of the
    # canonical packed storage from their offset. With layouts, the slices
    # of weights the kernel reads interleaved (4 bits, N = 512) are repacked
    # in each tile.
    if layouts and n % 8:
        pytest.skip("no interleaved layout for N not a multiple of 8")
    run_case(tessera_run, tmp_path, np.random.default_rng(), n, K, bits, signed, zero_mode,
             32, "f16", tile=tile, layouts=layouts)


INTERLEAVED = [
    (bits, signed, zero_mode, group)
    for (bits, signed, zero_mode), group in zip(
        itertools.product(range(1, 9), (False, True), ("none", "int", "float")),
        itertools.cycle((32, 64, 128, 256)))
]


@pytest.mark.parametrize("bits,signed,zero_mode,group",
                         matrix_params(INTERLEAVED, lambda c: c[0]),
                         ids=[f"{int_type(b, s)}-{z}-g{g}" for b, s, z, g in INTERLEAVED])
def test_mpmm_interleaved(tessera_run, tmp_path, bits, signed, zero_mode, group):
    # Weights of every width with N a multiple of 8: interleaved by 8
    # columns at 1, 2, 4, 8 bits (dense lanes) and 3 bits (bit planes),
    # prepacked at each call; 5, 6 and 7 bits in tiles of 16 x 4 where the
    # CPU multiplies bytes (AVX512-VBMI and VNNI) and N is a multiple of 16
    # (N = 272: two full column tiles and one of 16 columns; 48: a group
    # of four blocks of 8 columns and a pair), else canonical (N = 264, on
    # every CPU). N = 264 (every other case, each code type and zero mode at
    # both N over the widths): a full
    # column tile (the GEMM from 16 rows, its rows past the last block of 8
    # by the row kernel) and a tile of one block of 8 columns; N = 56: a
    # group of four blocks of 8 columns and three blocks alone. M = 21: 16
    # rows by the GEMM (N = 264), then rows by 4 and 1 (with byte dot
    # products, AVX512-VNNI: all by rows, the GEMM from 64 rows); 70: 64
    # rows by the GEMM, then 4 and 2; 6: 4 and 2; 3: 2 and 1; 1.
    case = INTERLEAVED.index((bits, signed, zero_mode, group))
    n = (264, 56)[(case + case // 6) % 2]
    if 5 <= bits <= 7:
        n = (272, 48, 264)[case % 3]
    run_case(tessera_run, tmp_path, np.random.default_rng(), n, K, bits, signed,
             zero_mode, group, "f16", m_values=(1, 3, 6, 21, 70))


GROUP_TERMS = [
    # bits, signed, zero mode, K, group, scale dtype, zero type
    (2, False, "int", 384, 32, "f16", None),   # 12 groups: 8 transposed, 4 gathered
    (4, True, "int", 320, 32, "f32", "si4"),   # 10 groups, signed 4-bit zero points
    (8, True, "int", 352, 32, "f16", None),    # 11 groups, signed bytes
    (1, False, "int", 512, 32, "f16", None),   # 16 groups: two runs of 8
    (3, True, "int", 352, 32, "f16", None),    # 33 bits a row of zero points: runs off bytes
    (2, False, "int", 384, 32, "f16", "ui8"),  # zero points wider than the codes
    (1, True, "float", 640, 64, "f32", None),  # 10 groups of float zero points
    (4, False, "none", 1024, 64, "f16", None),  # 16 groups, no zero points
    (5, False, "int", 512, 32, "f16", None),   # 16 groups of 5-bit zero points: i64 lanes
    (6, True, "int", 384, 32, "f32", None),    # 12 groups, signed 6 bits: 8 transposed
    (7, True, "int", 512, 64, "f16", None),    # 8 groups, signed 7 bits
    (2, False, "int", 512, 32, "f16", "ui7"),  # 7-bit zero points of 2-bit codes
    (5, True, "int", 352, 32, "f16", None),    # 55 bits a row: 6 bytes a run, shifted
    (7, False, "int", 576, 64, "f32", None),   # 63 bits a row: 8 bytes a run
    (1, False, "int", 384, 32, "f16", None),   # 12 bits a row
    (4, True, "int", 288, 32, "f16", None),    # 36 bits a row: 5 bytes, then in i32
    (2, True, "int", 352, 32, "f16", "ui6"),   # 66 bits a row of 6-bit zero points
]


@pytest.mark.parametrize("bits,signed,zero_mode,k,group,scale_dtype,zero_type", GROUP_TERMS,
                         ids=[f"{int_type(b, s)}-{z}-k{k}-g{g}-{d}" + (f"-z{t}" if t else "")
                              for b, s, z, k, g, d, t in GROUP_TERMS])
def test_mpmm_interleaved_group_terms(tessera_run, tmp_path, bits, signed, zero_mode, k, group,
                                      scale_dtype, zero_type):
    # The row kernel's scales and zero points, read per column tile before
    # its loops: runs of 8 groups of 8 columns transposed in registers (a
    # run of integer zero points from its bytes, and where a row of them
    # does not fill whole bytes the next one, shifted), the groups past the
    # last run gathered column by column. K above 256 gives 8-16 groups; M = 1 and 3 take the row
    # kernel in every tile of N = 264 (272 at 5-7 bits, which byte dot
    # products read in tiles of 16 columns).
    n = 272 if 5 <= bits <= 7 else 264
    run_case(tessera_run, tmp_path, np.random.default_rng(), n, k, bits, signed, zero_mode,
             group, scale_dtype, zero_type=zero_type, m_values=(1, 3))


@pytest.mark.parametrize("bits,signed,zero_mode,k,group,scale_dtype,zero_type", GROUP_TERMS,
                         ids=[f"{int_type(b, s)}-{z}-k{k}-g{g}-{d}" + (f"-z{t}" if t else "")
                              for b, s, z, k, g, d, t in GROUP_TERMS])
def test_mpmm_interleaved_group_terms_in_spans(tessera_run, tmp_path, bits, signed, zero_mode, k,
                                               group, scale_dtype, zero_type):
    # N = 320, a multiple of 64: the scales and zero points come in spans
    # of 64 columns, group by group (getGroupTermsKernelLayout; prepacked
    # at each call), and the kernels read them where they apply them: two
    # full column tiles and one of 64 columns; M = 1 and 3 by the row
    # kernels, 21 by the GEMM from 16 rows (64 with byte dot products), the
    # rest by rows.
    run_case(tessera_run, tmp_path, np.random.default_rng(), 320, k, bits, signed, zero_mode,
             group, scale_dtype, zero_type=zero_type, m_values=(1, 3, 21))


@pytest.mark.parametrize("zero_mode", ["int", "float"])
def test_group_terms_prepacked_in_spans(zero_mode):
    # The signature: scales (and zero points) of an interleaved kernel are
    # inputs in the layout, N/64 x G x 64 for floats, with a prepack
    # function; Function.prepack converts them once, and the results match
    # the reference whether they are passed prepacked or canonical.
    rng = np.random.default_rng()
    n, k, group = 192, 256, 64
    zero_type = "ui2" if zero_mode == "int" else "f16"
    f = ts.compile(mpmm_module(n, k, 2, False, zero_mode, group, "f16", zero_type),
                   entry="mpmm")
    specs = {s["name"]: s for s in f.inputs}
    assert specs["arg2"]["layout"] == "#tessera.layout<tile = [64, 1]>"
    assert specs["arg2"]["prepack"] == "prepack_mpmm_arg2"
    assert specs["arg2"]["shape"] == [n // 64, k // group, 64]
    assert specs["arg2"]["dtype"] == "f16"
    assert specs["arg3"]["layout"] == "#tessera.layout<tile = [64, 1]>"
    codes = rng.integers(0, 4, size=(n, k))
    scales = rng.uniform(0.25, 2.0, size=(n, k // group)).astype(np.float16)
    if zero_mode == "int":
        zeros = rng.integers(0, 4, size=(n, k // group))
        z = reference.pack(zeros, 2)
        assert specs["arg3"]["shape"] == [n * (k // group) * 2 // 8]
    else:
        zeros = z = rng.standard_normal((n, k // group)).astype(np.float16)
        assert specs["arg3"]["shape"] == [n // 64, k // group, 64]
    prepacked = f.prepack("arg2", scales)
    # Element [c, g] at [c / 64, g, c % 64].
    np.testing.assert_array_equal(prepacked.data,
                                  scales.reshape(n // 64, 64, k // group).transpose(0, 2, 1))
    w = f.prepack("arg1", reference.pack(codes, 2))
    x = rng.standard_normal((3, k)).astype(np.float32)
    want = reference.mpmm(x, codes, scales, group, zeros, zero_mode)
    bound = reference.mpmm_error_bound(x, codes, scales, group, zeros, zero_mode)
    for s_arg in (prepacked, scales):
        y = f(x, w, s_arg, z)
        assert (np.abs(y - want) <= bound).all()
    # A wrong dtype is an error that names the input (of its prepack function).
    with pytest.raises(ValueError, match="argument 'arg2' .* expected dtype f16, got f32"):
        f(x, w, scales.astype(np.float32), z)


def outlier_activations(rng, m, k):
    """x whose groups each hold one outlier, 10^3 to 10^4 times the rest
    (spread over six decades): the byte dot product row kernels round x
    relative to its group's largest |x|."""
    x = rng.standard_normal((m, k)) * 10.0 ** rng.uniform(-6, 0, size=(m, k))
    outliers = rng.integers(0, 32, size=(m, k // 32)) + np.arange(0, k, 32)
    x[np.arange(m)[:, None], outliers] = rng.choice([-1, 1], size=(m, k // 32)) * \
        10.0 ** rng.uniform(3, 4, size=(m, k // 32))
    return x


@pytest.mark.parametrize("bits,signed,zero_mode,group", [
    (1, False, "int", 32), (2, True, "float", 64), (3, True, "int", 64), (4, True, "int", 128),
    (5, True, "int", 32), (6, False, "float", 64), (7, True, "none", 128),
    (8, False, "none", 32), (8, True, "int", 64)])
def test_mpmm_interleaved_activation_outliers(tessera_run, tmp_path, bits, signed, zero_mode,
                                              group):
    # Every path within reference.mpmm_error_bound, which allows the byte
    # dot products' rounding of x (2^-22 of its group's largest |x|); rows
    # 1 (two streams of 16 columns), 3 (by 2 and 1) and 21 (by 4 and 1).
    # N = 272 at 5-7 bits (tiles of 16 x 4).
    n = 272 if 5 <= bits <= 7 else 264
    run_case(tessera_run, tmp_path, np.random.default_rng(), n, K, bits, signed, zero_mode,
             group, "f16", m_values=(1, 3, 21), activations=outlier_activations)


@pytest.mark.parametrize("bits,signed", [(1, False), (1, True), (2, False), (3, True), (6, True),
                                         (8, True)])
def test_mpmm_interleaved_non_finite_activations(tmp_path, bits, signed):
    # An infinite or NaN x makes every result of its row non-finite (the
    # byte dot products' group scale becomes NaN; in the 1-bit tables of a
    # single row, a zero bit times it is NaN); the other rows stay exact.
    rng = np.random.default_rng()
    n, group = (272 if 5 <= bits <= 7 else 264), 64
    module = mpmm_module(n, K, bits, signed, "int", group, "f16", int_type(bits, signed),
                         "f32", "f32", False, None)
    function = ts.compile(module, entry="mpmm")
    lo, hi = reference.code_range(bits, signed)
    codes = rng.integers(lo, hi + 1, size=(n, K))
    scales = rng.uniform(0.25, 2.0, size=(n, K // group)).astype(np.float16)
    zeros = rng.integers(lo, hi + 1, size=(n, K // group))
    x = rng.standard_normal((3, K)).astype(np.float32)
    x[0, 5] = np.inf
    x[2, K - 1] = np.nan
    y = function(x, reference.pack(codes, bits), scales, reference.pack(zeros, bits))
    assert not np.isfinite(y[0]).any() and not np.isfinite(y[2]).any()
    want = reference.mpmm(x[1:2], codes, scales, group, zeros, "int")
    bound = reference.mpmm_error_bound(x[1:2], codes, scales, group, zeros, "int")
    assert (np.abs(y[1:2] - want) <= bound).all()


@pytest.mark.parametrize("bits,signed,zero_mode", [(3, True, "int"), (8, False, "float")])
def test_mpmm_interleaved_full_tiles(tessera_run, tmp_path, bits, signed, zero_mode):
    # N = 512: every column tile full, so from 16 rows the GEMM takes the
    # full blocks of 8 rows in every tile and the row kernel (and its scaled
    # x) only the rows past them (M = 21: rows 16-20; 13: all, by rows).
    run_case(tessera_run, tmp_path, np.random.default_rng(), 512, K, bits, signed, zero_mode,
             64, "f16", m_values=(13, 21))


@pytest.mark.parametrize("bits,signed,n", [(2, False, 56), (4, True, 56), (7, True, 48),
                                           (1, False, 128)])
def test_mpmm_interleaved_through_tessera_run(tessera_run, tmp_path, bits, signed, n):
    # tessera-run converts the canonical .npy weights to the interleaved
    # layout through the module's prepack function (7 bits: tiles of 16 x 4
    # where the CPU multiplies bytes; N = 128: the f16 scales and zero
    # points in spans of 64 columns too).
    run_case(tessera_run, tmp_path, np.random.default_rng(), n, K, bits, signed, "int", 64,
             "f16", m_values=(1, 21), tool=True)


@pytest.mark.parametrize("bits,signed,zero_mode", [(2, True, "none"), (3, False, "int"),
                                                   (5, False, "int"), (8, True, "float")])
def test_mpmm_long_rows(tessera_run, tmp_path, bits, signed, zero_mode):
    # K = 6272: a row of x (25 KiB) does not stay in L1 across the columns,
    # so single rows take columns in pairs (one load of x for both; N = 13:
    # six pairs and a last column alone).
    run_case(tessera_run, tmp_path, np.random.default_rng(), 13, 6272, bits, signed,
             zero_mode, 128, "f16")
