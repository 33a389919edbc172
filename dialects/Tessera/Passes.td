//===- Passes.td - Tessera passes --------------------------*- tablegen -*-===//

#ifndef TESSERA_PASSES_TD
#define TESSERA_PASSES_TD

include "mlir/Pass/PassBase.td"

def TesseraPackFunctionBoundaries
    : Pass<"tessera-pack-function-boundaries", "::mlir::ModuleOp"> {
  let summary = "Pass low-bit tensors across function boundaries as packed bytes";
  let description = [{
    Rewrites every function whose arguments or results are low-bit integer
    tensors (`tensor<...xuiN>` / `tensor<...xsiN>`, N <= 8) to take and
    return their canonical packed storage (`tensor<ceil(n*b/8) x i8>`)
    instead, inserting `tessera.unpack` at the entry and `tessera.pack`
    before each return. Calls between functions of the module are updated to
    match. This fixes the ABI of compiled functions: a caller passes a 3-bit
    weight matrix as the bytes of its dense LSB-first packing. An argument
    or result with a `tessera.layout = #tessera.layout<...>` attribute is
    passed in that storage layout instead (see tessera-assign-lut-layouts).
    Low-bit tensors at a boundary must have a static shape. A tensor of
    another element type (group scales) with a `tessera.layout` of tiles,
    no bit planes, static and divided by them, crosses as upstream
    `linalg.pack` tiles of the dimensions whose tile is larger than 1
    (`#tessera.layout<tile = [64, 1]>` on a 4096 x 32 matrix: a 64 x 32 x
    64 tensor), which enumerate its elements in the layout's order;
    `linalg.unpack` and `linalg.pack` convert at the entry and returns.
  }];
  let dependentDialects = ["::mlir::tessera::TesseraDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def TesseraMarkInputsReadOnly
    : Pass<"tessera-mark-inputs-readonly", "::mlir::ModuleOp"> {
  let summary = "Make the tensor arguments of public functions read-only";
  let description = [{
    Sets `bufferization.writable = false` on every tensor argument of every
    public function, so that bufferization never writes into a caller's
    input buffer (it copies first where an argument is updated in place,
    such as the `outs` of a destination-style op). Inputs are read-only at
    Tessera's ABI.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def TesseraChooseMpmmStrategy
    : Pass<"tessera-choose-mpmm-strategy", "::mlir::ModuleOp"> {
  let summary = "Choose dequantize or LUT (T-MAC) per tessera.mpmm";
  let description = [{
    Sets the `strategy` attribute of every `tessera.mpmm` that has none
    (an attribute written in the IR is kept). With `strategy=auto` the
    heuristic picks the LUT strategy with int8 tables (`"lut"`) where it is
    faster on the benchmarks (bench/lut_bench.py), else `"dequantize"`:

    - LUT needs integer codes without a codebook, f32 activations and a
      group size that is a multiple of 8, and its vector kernel a target
      with byte shuffles of `lut-lanes` bytes (32: AVX2, 64: AVX-512BW; 0:
      none, so never LUT) and N a multiple of them;
    - it is chosen for codes of up to `lut-max-bits` bits (default 6) at
      any M, and for wider codes when x has at most `lut-max-rows` (default
      32) rows halved for every bit past `lut-max-bits` (7 bits: 16 rows,
      8 bits: 8): the lookups cost about the same per bit and row, the
      dequantize GEMM the same per row at every width, and at 4096 x 4096
      the LUT kernel is the faster at every M up to 6 bits and only for few
      rows at 7 and 8 (bench/lut_bench.py);
    - where that depends on a number of rows known only at run time, the op
      becomes an `scf.if` on `tensor.dim` of x: an mpmm with `"lut"` for at
      most that many rows, one with `"dequantize"` for more, both on the
      same weights (the dequantize kernel reads the LUT kernel's bit planes,
      so the weights are stored once);
    - with `dequantize-layouts` (tessera-assign-mpmm-layouts runs), codes
      wider than `lut-max-bits` whose weights the dequantize kernel reads
      interleaved (8 bits, N a multiple of 8) take dequantize at every M:
      that kernel is the faster one there (4096 x 4096, one thread:
      LUT / dequantize time 1.25, 1.37 and 1.67 at M = 1, 16, 256);
    - with `byte-tiles` as well (AVX512-VBMI and VNNI: the dequantize
      kernel multiplies bytes and reads 5-7 bit weights in tiles of 16 x
      4, N a multiple of 16), 6 and 7-bit codes in such tiles take
      dequantize except when x has at most 2 rows known at compile time
      (4096 x 4096, one thread, LUT / dequantize time at M = 1, 2, 4, 16,
      256: 6 bits 0.78, 0.84, 1.11, 1.16, 1.22; 7 bits 0.82, 0.94, 1.23,
      1.34, 1.52; 5 bits 0.72, 0.80, 1.00, 0.95, 1.00, so LUT as before).
      Rows known only at run time take dequantize, without a run-time
      choice: its dequantize branch would read the LUT kernel's bit planes
      (through the GEMM, 2-6x slower at M = 4-16); at M = 1 and 2 that
      costs 1.05-1.3x against LUT.

    `strategy=dequantize|lut|lut_f32` forces that strategy on every op that
    can take it (a compile option).
  }];
  let options = [
    Option<"strategy", "strategy", "std::string", /*default=*/"\"auto\"",
           "auto, dequantize, lut or lut_f32">,
    Option<"lutLanes", "lut-lanes", "int64_t", /*default=*/"0",
           "Bytes per shuffle of the target (32: AVX2, 64: AVX-512BW, 0: none)">,
    Option<"lutMaxBits", "lut-max-bits", "int64_t", /*default=*/"6",
           "Widest codes for which auto picks LUT at any number of rows">,
    Option<"lutMaxRows", "lut-max-rows", "int64_t", /*default=*/"32",
           "Rows of x up to which auto picks LUT for codes wider than lut-max-bits, halved per bit past it">,
    Option<"dequantizeLayouts", "dequantize-layouts", "bool", /*default=*/"false",
           "The dequantize kernel reads interleaved weights where they apply "
           "(tessera-assign-mpmm-layouts runs): wider codes take it at every M">,
    Option<"byteTiles", "byte-tiles", "bool", /*default=*/"false",
           "With dequantize-layouts: the dequantize kernel reads 5-7 bit "
           "codes in tiles of 16 x 4 (AVX512-VBMI and VNNI); 6 and 7-bit "
           "codes then take it but for at most 2 rows known at compile time">
  ];
  let dependentDialects = ["::mlir::tessera::TesseraDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def TesseraExpandLutMpmm
    : Pass<"tessera-expand-lut-mpmm", "::mlir::ModuleOp"> {
  let summary = "Rewrite LUT-strategy tessera.mpmm into the T-MAC ops";
  let description = [{
    Every `tessera.mpmm` with `strategy = "lut"` (int8 tables) or
    `"lut_f32"` becomes

    ```
    %t, %ts, %sums = tessera.lut_tables %x          (tables of 4 activations)
    %acc = tessera.lut_accumulate %t, %w            (lookups per bit plane, per group)
    %y = tessera.lut_combine %acc, %ts, %sums ...   (planes, scales, zero points)
    ```

    so each step of the strategy is visible in the IR. f16/bf16
    activations are tabled in f32.
  }];
  let dependentDialects = ["::mlir::tessera::TesseraDialect"];
}

def TesseraAssignLutLayouts
    : Pass<"tessera-assign-lut-layouts", "::mlir::ModuleOp"> {
  let summary = "Give the weights of LUT kernels their bit-plane layout";
  let description = [{
    The LUT vector kernel (tessera-lower-lut-to-vector) reads weights in
    `#tessera.layout<tile = [L, 8], bit_planes>`, L the target's shuffle
    width, or, with `byte-permute` (AVX512-VBMI and -VNNI) and K and the
    group multiples of 32, in `#tessera.layout<tile = [64, 32],
    bit_planes>`. For every `tessera.lut_accumulate` with int8 tables whose
    shape the kernel takes (N a multiple of L, K and the group size of 8):

    - weights that are an argument of a public function (and used only by
      such ops, or by dequantize-strategy mpmms on integer codes, whose
      vector kernel reads both tilings of the bit planes as well) are
      passed in that layout: the argument gets a
      `tessera.layout` attribute (tessera-pack-function-boundaries then
      takes it in that storage) and the module a public function
      `prepack_<function>_<argument>` that converts the canonical storage
      into it, for callers to run once per weight matrix;
    - constant weights are packed in that layout at compile time;
    - other weights (computed in the function) are repacked where they are
      made (`tessera.pack` then `tessera.unpack` with the layout).

    Then the scales and zero points of each `tessera.lut_combine` whose
    lookups read their weights in that layout, N a multiple of 64, take
    spans of 64 columns as tessera-assign-mpmm-layouts gives them
    (`#tessera.layout<tile = [64, 1]>`), where every op that reads them is
    an mpmm or a LUT combine: the kernel then reads a group's coefficients
    of 8 or 16 rows in one load each instead of transposing 8 groups of
    each row.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"0",
           "Bytes per byte shuffle of the target (32, 64; 0: no kernel, nothing to do)">,
    Option<"bytePermute", "byte-permute", "bool", /*default=*/"false",
           "The target has 64-byte permutes and byte dot products (AVX512-VBMI, "
           "AVX512-VNNI): tiles of 64 x 32 where K and the group allow">
  ];
  let dependentDialects = ["::mlir::tessera::TesseraDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def TesseraAssignMpmmLayouts
    : Pass<"tessera-assign-mpmm-layouts", "::mlir::ModuleOp"> {
  let summary = "Give the weights of dequantize kernels their interleaved layout";
  let description = [{
    The dequantize vector kernel (tessera-lower-mpmm-to-vector) reads
    integer codes of b = 1, 2, 4 or 8 bits fastest with 8 rows (output
    columns) interleaved: `#tessera.layout<tile = [8, 32 / b]>`, a tile one
    32-byte vector whose i32 lane r holds 32 / b consecutive codes of row r
    (getDequantizeKernelLayout; N a multiple of 8, K and the group of
    32 / b and of 8). A code then unpacks for 8 columns at once with one
    mask or shift and needs no transpose to become a row of the GEMM's
    panel. 3-bit codes are interleaved the same way in bit planes,
    `#tessera.layout<tile = [8, 32], bit_planes>` (3 such vectors per 32
    codes of 8 rows; K and the group multiples of 32), which the kernel
    mixes once per tile into words that hold each code whole. 5, 6 and
    7-bit codes stay canonical (their bit planes cost more to mix than the
    canonical kernel's byte shuffle), except with `byte-tiles` (targets
    with AVX512-VBMI and AVX512-VNNI, where the kernel multiplies bytes):
    then they take `#tessera.layout<tile = [16, 4]>` (N a multiple of 16, K
    and the group of 8, the group at most 16384), a tile of 16 rows x 4
    codes in 8b bytes, rows 2q and 2q + 1 in bytes [bq, bq + b), which one
    byte permute and one `vpmultishiftqb` turn into a byte per code: 16
    columns in one stream of weights. For every
    `tessera.mpmm` of the
    dequantize strategy with f32
    activations and results and such weights, read by no other op:

    - weights that are an argument of a public function (used only by such
      mpmms) are passed in that layout: the argument gets a
      `tessera.layout` attribute and the module a public function
      `prepack_<function>_<argument>` that converts the canonical storage,
      for callers to run once per weight matrix;
    - constant weights are packed in that layout at compile time;
    - other weights (computed in the function) are repacked where they are
      made.

    Weights that already have a layout (the bit planes that
    tessera-assign-lut-layouts gives weights shared with a LUT kernel) keep
    it.

    The group terms of every mpmm that reads its weights interleaved, its
    scales and zero points (N x G, one per column and group), take
    `#tessera.layout<tile = [64, 1]>` where N is a multiple of 64 and
    every op that reads them is an mpmm or a LUT combine, whose lowerings
    all read that layout (getGroupTermsKernelLayout): a group's terms of 64
    consecutive columns, the span the row kernels take at once, are one
    run, read where the kernel needs them. Canonical, they are gathered per
    tile of columns before its loops (M = 1, 4096 x 4096, one thread,
    alternated in one process: 1 bit 0.274 -> 0.247 ms, 2 bits 0.459 ->
    0.425, 3 bits 0.621 -> 0.596; read from tiles of 16 columns instead
    of spans of 64, where a span's block reads four streams a group, 1
    and 3 bits took 0.285 and 0.663 ms, slower than gathered).
    Integer zero points are packed by `tessera.pack` as weights are, float
    scales and offsets by upstream `linalg.pack` (N/64 x G x 64, read
    through `linalg.unpack`): arguments through the `tessera.layout`
    attribute and a prepack function, constants at compile time.
  }];
  let options = [
    Option<"byteTiles", "byte-tiles", "bool", /*default=*/"false",
           "5, 6 and 7-bit codes in tiles of 16 x 4 for the byte dot product "
           "kernel (AVX512-VBMI and AVX512-VNNI)">
  ];
  let dependentDialects = ["::mlir::tessera::TesseraDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def TesseraLowerLutToVector
    : Pass<"tessera-lower-lut-to-vector", "::mlir::ModuleOp"> {
  let summary = "Lower LUT lookups to byte-shuffle vector loops";
  let description = [{
    A `tessera.lut_combine` of a `tessera.lut_accumulate` over int8 tables,
    with weights from `tessera.unpack` in the layout
    `#tessera.layout<tile = [L, 8], bit_planes>` (L = `lanes`), an f32
    result, N a multiple of L and K and the group size multiples of 8 (the
    group at most 1024), becomes one loop nest: column tiles of 256 weight
    rows in an `scf.forall` (the thread pool's unit), rows of x, blocks of L
    weight rows, groups, runs of 8 weights along K. Per run and bit plane,
    L bytes of the plane are loaded; their low and high nibbles index the
    run's two 16-entry tables by two byte shuffles (`tessera.shuffle_bytes`,
    `vpshufb`); the two lookups are interleaved and pair-summed into exact
    i16 accumulators (`tessera.sum_byte_pairs`, `vpmaddubsw`). Planes share
    an accumulator, plane i's sums weighted by 2^i relative to the first of
    its set, as far as the sums stay below 2^15 (group 128: planes 0-2,
    then 3-5); the top plane of signed codes is looked up with complemented
    nibbles, which negates its entries, so its weight is positive too. The
    blocks looked up together (4, 2 or 1: one stream of weights each) are
    as many as their accumulators leave registers for; with one row of x,
    a group's runs are summed in periods of a half or a quarter of them
    (widened into i32 after each) where fewer, larger sets let more blocks
    go together. At the end of a group the sets are combined in i32,
    converted once and scaled by the table scale, the group scale and the
    zero-point term.

    With `byte-permute` (AVX512-VBMI and AVX512-VNNI) and weights in
    `#tessera.layout<tile = [64, 32], bit_planes>` (K and the group
    multiples of 32), a step is 32 weights along K (8 runs): 64 bytes of a
    plane hold 16 rows' 32 bits, byte j of row r's 4 its bits of runs 2j
    (low nibble) and 2j + 1 (high). The 8 runs' tables are loaded as two
    64-byte vectors (runs 0, 2, 4, 6 and 1, 3, 5, 7), a nibble ORed with
    `16 j` indexes its run's table among the four (`tessera.permute_bytes`,
    `vpermb`), and the 4 lookups of a row are summed, times the plane's
    weight 2^i, into its i32 accumulator (`tessera.dot_bytes`, `vpdpbusd`;
    the top plane of signed codes is looked up complemented, which negates
    the entry). 7 vector ops per 64 bytes of a plane instead of 10, and
    one accumulator per row for all planes.

    Scales and zero points in spans of 64 rows
    (`#tessera.layout<tile = [64, 1]>`, from tessera-assign-lut-layouts:
    integer zero points through `tessera.unpack`, float terms through
    `linalg.unpack`) give a group's coefficients of 8 or 16 rows from one
    read each; canonical ones are read 8 groups per row and transposed.
    Other LUT ops are left for the reference lowering.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"0",
           "Bytes per byte shuffle: 32 (AVX2), 64 (AVX-512BW); 0 does nothing">,
    Option<"bytePermute", "byte-permute", "bool", /*default=*/"false",
           "The target has AVX512-VBMI and AVX512-VNNI: weights in tiles of "
           "64 x 32 take the vpermb / vpdpbusd kernel">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def TesseraLowerLutTablesToVector
    : Pass<"tessera-lower-lut-tables-to-vector", "::mlir::ModuleOp"> {
  let summary = "Build int8 T-MAC tables with vector code, a row per thread task";
  let description = [{
    A `tessera.lut_tables` with int8 tables, f32 activations, no codebook
    and a group size that is a multiple of 16 becomes an `scf.forall` over
    the rows of x (the thread pool's unit) of vector code that reads 16
    activations (4 runs) at a time, each run in its own 4 lanes, so that
    every shuffle stays within a run's lanes (no transposes): per group, a
    first pass takes the largest `sum_t |x|` (summed in order, compared as
    integers) and the sum of x; a second computes a run's entries
    `T[p] = -x3 +/- x2 +/- x1 +/- x0` (`p < 8`, 4 per vector) by a negate
    and three FMAs with +/-1 factors (the values of a tree of adds),
    multiplies them by `127 / a`, rounds them to even by adding
    `1.5 * 2^23`, and gathers the 4 runs' 64 bytes from the low bytes in
    one shuffle, with the mirrored half `T[15 - p] = -T[p]` negated. The
    tables and table scales equal `tessera.reference.lut_tables` bit for
    bit; the sums equal the op's reference lowering up to the order of f32
    additions. Other `lut_tables` ops are
    left to tessera-lower-to-linalg.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def TesseraLowerX86ByteOps
    : Pass<"tessera-lower-x86-byte-ops", "::mlir::ModuleOp"> {
  let summary = "Lower the CPU kernels' byte and lane operations to x86 intrinsics";
  let description = [{
    `tessera.shuffle_bytes` becomes `vpshufb` (`llvm.x86.avx2.pshuf.b` on
    32 bytes, `llvm.x86.avx512.pshuf.b.512` on 64) and
    `tessera.sum_byte_pairs` `vpmaddubsw` with a vector of ones
    (`llvm.x86.avx2.pmadd.ub.sw` / `llvm.x86.avx512.pmaddubs.w.512`),
    `tessera.permute_bytes` `vpermb` (`llvm.x86.avx512.permvar.qi.512`),
    `tessera.permute_lanes` `vpermps` (`llvm.x86.avx512.permvar.sf.512`)
    and `tessera.dot_bytes` `vpdpbusd` (`llvm.x86.avx512.vpdpbusd.512`), as
    `llvm.call_intrinsic`. Runs after bufferization (the intrinsic calls
    have no memory-effect interface, which buffer deallocation needs).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::arith::ArithDialect"];
}

def TesseraTileMpmm : Pass<"tessera-tile-mpmm", "::mlir::ModuleOp"> {
  let summary = "Tile tessera.mpmm for threads, fusing its elementwise consumer";
  let description = [{
    Tiles the columns (N) of each `tessera.mpmm` into an `scf.forall` of
    `column-tile` columns (the unit of work of the runtime's thread pool),
    through the op's `TilingInterface` and upstream tiling
    (`scf::tileUsingSCF`). Where the mpmm's only user is an elementwise
    `linalg.generic` on its result (a bias, an activation, a residual: a
    chain of them is one generic after linalg elementwise fusion), that
    consumer is tiled instead and the mpmm fused into each of its tiles as
    the producer (`scf::tileConsumerAndFuseProducersUsingSCF`), so that the
    consumer runs on a tile while it is in cache.

    It tiles the ops that `tessera-lower-mpmm-to-vector` lowers from their
    canonical packing (weights from a `tessera.unpack` without a layout) and
    whose N is a multiple of `column-tile` greater than it (the tiles keep
    the weights' static shape). The others keep the whole op; the vector
    lowering then makes the same column tiles itself. Within a tile the
    vector lowering makes the cache and register tiles.
  }];
  let options = [
    Option<"columnTile", "column-tile", "int64_t", /*default=*/"128",
           "Columns of the result per tile (the vector kernel's tile)">
  ];
  let dependentDialects = ["::mlir::tessera::TesseraDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def TesseraLowerMpmmToVector
    : Pass<"tessera-lower-mpmm-to-vector", "::mlir::ModuleOp"> {
  let summary = "Lower eligible tessera.mpmm ops to fused vector loops";
  let description = [{
    The dequantize-then-FMA strategy without a dequantized matrix, as a loop
    nest of cache and register tiles: column tiles of 128 (the unit of work
    for threads; an op that `tessera-tile-mpmm` tiled is one of them, its
    weights a slice of whole rows read from their offset), row chunks of 64, K blocks of about 512 codes (whole
    groups; only with 8 rows or more, so that a register block of x stays in
    L1), then each column with its rows in register blocks of 8, 4 and 1;
    with 32 vector registers (`vector-registers`), columns in pairs for the
    blocks of 8 and 4 rows, so that each load of x feeds two FMAs (2 x 8
    accumulators; M = 16 went from 9.2 to 7.1 ms at 4096 x 4096).
    Full blocks of 8 rows of x are packed first ([M/8][K/8][8][8]) so that a
    block's x is one contiguous stream.

    Integer codes are read from their canonical packed storage, or from the
    LUT kernels' bit planes (`#tessera.layout<tile = [L, C], bit_planes>`,
    L a multiple of 8, C = 8 or 32), 8 at a time. From bit planes a run of
    8 codes of one row is a byte per plane, broadcast, each lane taking its
    bit; the GEMM's panel takes 8 bytes per plane for 8 columns at once
    (C = 32: their 4-byte words, 4 bytes apart, shifted to the run's byte),
    which give its rows without a transpose: bit by bit up to 4 bits, from
    5 bits on as 8 x 8 bit matrices transposed in i64 lanes (three delta
    swaps; byte c of a column's lane is then its code c). Scales and zero
    points are gathered across the columns once per segment of a group. From the canonical packing:
    8-bit codes are extended from their bytes; for widths 1, 2, 4 (and 3,
    read as 4 bytes) the run's bytes are one word broadcast to every lane;
    for 5, 6, 7 (read as 8 bytes) a byte shuffle puts the two bytes holding
    code l at the bottom of lane l; then per-lane shifts and a mask (or a
    shift pair for signed codes). The last column of the weights reads its
    runs exactly so that nothing past the storage is read. Integer zero
    points are subtracted in i32. Blocks of 8 or 4 rows apply the group scale
    (and float offset) to the 8 values in registers and accumulate one FMA
    per row; single rows accumulate unscaled codes over a group in four
    chains and apply the scale (and offset, through the group sum of x) to
    the accumulators once per group. With 16 vector registers, single rows
    of 8-bit codes (bound by the weights' bandwidth) take 4 columns 16 apart
    at once, two chains each: four streams from memory, where neighbouring
    columns are one (one thread on AVX2: 1.22-1.29x). Weights interleaved
    by 8 columns (tessera-assign-mpmm-layouts) unpack a code for 8 columns
    at once; with 32 vector registers (AVX-512) the rows outside the GEMM
    take two such tiles side by side in 16 lanes, so that each mask,
    conversion and FMA serves 16 columns (one Emerald Rapids core, M = 1,
    4096 x 4096: 1, 2, 3, 4 bits 0.93-1.25 -> 0.75-1.0 ms). For 4 and 8-bit
    codes, whose rows are bound by the weights' bandwidth, the row kernel
    prefetches each stream of tiles 512 bytes ahead (`memref.prefetch` on
    the storage's `bufferization.to_buffer`, clamped to its last byte): too
    few loads are in flight otherwise for the hardware prefetchers (8 bits,
    M = 1, 1 KiB ahead: 1.72 -> 1.43 ms, 10 -> 12 GB/s of the 15 a read
    loop gets; 512 bytes 3-4% faster than 1 KiB at 4 and 8 bits).
    With 32 vector registers, canonical codes of 3, 5, 6 and 7 bits (groups
    a multiple of 16) go in runs of 16 in the rows outside the GEMM, each
    code left in place: a byte permute puts the two bytes holding code l in
    lane l, where it sits at bit l b mod 8; an AND keeps it there (signed
    codes' sign bits flipped in it), the exact conversion gives q 2^(l b mod
    8), and x, scaled by the inverse powers of two once per call, makes
    every product x q; zero points come off in place. Four instructions per
    16 products where runs of 8 took six per 8; single rows prefetch their
    weights 512 bytes ahead, blocks of rows the next columns' (one Emerald
    Rapids core, 4096 x 4096: M = 1 at 5, 6, 7 bits 2.0-2.3 -> 1.3-1.6 ms;
    M = 8, 6 bits, 7.4 -> 4.1 ms).

    With `byte-dots` (AVX512-VNNI; the CPU pipeline's `byte-dots` sets it
    from the host's or target's features) and 32
    vector registers, the row kernels of interleaved codes of 1, 2, 4 and 8
    bits, of 3 bits (bit planes) and, with `byte-tiles` too (AVX512-VBMI,
    from the pipeline's `lut-byte-permute`), of 5, 6 and 7 bits (tiles of
    16 x 4, which tessera-assign-mpmm-layouts gives them with its
    `byte-tiles`) multiply bytes instead: per row and
    group, x is rounded to integers x_i = round(x 2^t) below 2^22 (t from
    the group's largest |x|; a non-finite x makes the group's factor NaN),
    split into three signed bytes; each word of codes gives 8/b vectors of
    bytes ((w >> s b) & mask, signs flipped; from bit planes, plane p
    rotated left by p once per tile, then per byte vector one AND per plane
    picking bit (s + p) mod 8 of each byte, ORs and a rotation right by s;
    from tiles of 16 x 4, per 4 codes of 16 columns one masked 8b-byte
    read, a byte shuffle (`vpermb`) placing each column pair's b bytes in a
    64-bit word, `tessera.multishift_bytes` (`vpmultishiftqb`) taking code
    i to byte i and an AND), and `tessera.dot_bytes` (`vpdpbusd`) multiplies each with
    a broadcast word of each byte of x, summing exactly in i32 per byte.
    Per group the zero point (an integer) comes off through each byte's
    group sum, the three sums are combined in f32 and scaled by 2^-t and the
    scale. The rounding of x adds at most 2^-22 max_g |x| per product.
    Three instructions per 64 products (plus 1-3 to unpack) where the f32
    kernel takes four masks, conversions and FMAs per 16; the row kernels
    then stay ahead of the GEMM up to 64 rows. One Emerald Rapids core,
    4096 x 4096, ms, f32 -> bytes: M = 1 at 2, 4, 8 bits 0.86 -> 0.52,
    1.00 -> 0.81, 1.35 -> 1.25 (two threads 0.53 -> 0.32, 0.54 -> 0.48,
    0.82 -> 0.75; 3 bits 1.06 -> 0.68, two threads 0.57 -> 0.38); M = 8
    at 4 bits 4.3 -> 3.3; M = 16 (the GEMM before) 5.1 -> 3.8, 3 bits
    5.5 -> 4.4.

    Single rows of interleaved 1-bit codes with 32 vector registers take
    table lookups instead, with or without `byte-dots`: per row of x and
    run of 4 codes, a table of the 16 sums of those x over the codes' bits
    (x[4r] times bit 0 of the entry, then three FMAs: exact up to f32
    rounding, as the FMAs of the other widths), built once per call (64
    KiB a row at K = 4096); nibble j of a column's lane (codes 4j to 4j +
    3 of a tile's 32) indexes its run's table, and one
    `tessera.permute_lanes` (`vpermps`) looks up 16 columns at once: three
    instructions (shift, permute, add) per 64 products, where the byte
    dot products take five (shift, AND and three `vpdpbusd`). The group's
    zero point and scale are applied as in the f32 kernel, through the
    group sums of x (entry 15 of each table). Blocks of rows keep their
    kernels: the tables of many rows do not stay in L2 while the rows take
    a tile's columns (4096 x 11008, M = 16: 8.8 ms with byte dot products,
    11.5 with tables for every row). Libraries alternated in one process
    on a busy 2-core Xeon (AVX512-VNNI), byte dot products -> tables, ms:
    M = 1, one thread, 11008 x 4096 1.20 -> 0.88, 4096 x 11008 1.21 ->
    1.03; two threads 0.57 -> 0.43, 0.60 -> 0.50, 4096 x 4096 0.23 ->
    0.19. Masked adds (`vaddps` under a mask register read from the codes,
    one per 16 products) were slower than either: a mask loaded from
    memory (`kmovw`) takes a port-5 slot as well, so they ran at one add
    per cycle (4096 x 4096, M = 1: 0.57 ms against 0.38).

    Scales and zero points in spans of 64 columns
    (`#tessera.layout<tile = [64, 1]>`, which tessera-assign-mpmm-layouts
    gives them: integer zero points through `tessera.unpack`, float scales
    and offsets through `linalg.unpack` of N/64 x G x 64 tiles) are read
    where the row kernels apply them, a group's terms of a block of 8 or
    16 columns in one read (16 zero points of 1 or 2 bits in one word,
    shifted per lane). Canonical ones are gathered a column tile at a time
    before the row kernels' loops, 8 groups of 8 columns transposed in
    registers: from memory that gather waits on a line per column, and in
    spans the calls take 4-17% less (alternated, M = 1, 4096 x 4096, one
    thread: 1 bit 0.274 -> 0.247 ms, 2 bits 0.459 -> 0.425, 3 bits 0.621
    -> 0.596; two threads 0.154 -> 0.127, 0.244 -> 0.223, 0.342 -> 0.322;
    1 bit, one thread, 11008 x 4096 0.675 -> 0.585, 4096 x 11008 0.694 ->
    0.547; 4 and 8 bits and M = 16 unchanged). With canonical terms each
    group of the table kernel prefetches its share of the next column
    tile's (3-10% faster at 4096 x 4096).

    With 16 rows or more, a full column tile takes a GEMM instead for its
    full blocks of 8 rows: per block of 256 codes the tile's weights are
    dequantized 8 columns x 8 codes at a time (the group's scale and zero
    point read once per group), transposed in registers and stored into a
    panel of 16-column micro panels, which a register-blocked micro kernel
    (with 32 vector registers, AVX-512: 8 rows x 32 columns in 16-lane
    vectors, two micro panels at a time; with 16: 4 x 16 in 8-lane vectors;
    option `vector-registers`) multiplies with the packed rows of x. From 16 rows
    the dequantization, shared by the rows, costs less than the row blocks'
    (measured on AVX2: 16 rows, 4096 x 4096, 2 / 4 / 8 bits 10-22% faster
    than two blocks of 8).

    An elementwise consumer of the result (the only user: a 2-D all-parallel
    linalg.generic reading it with the identity map and, besides, values that
    dominate the mpmm through projected permutations, such as a bias by
    column or a residual) is fused: it runs on each column tile while the
    tile is in cache, before the tile is inserted. The CPU pipeline merges
    chains of elementwise ops first (linalg-fuse-elementwise-ops).

    Applies to mpmm ops with integer codes from a tessera.unpack in the
    canonical or that bit-plane layout (integer zero points in the
    canonical one), f32 activations and
    results, and K and the group size multiples of 8; others are left to
    tessera-lower-to-linalg.
  }];
  let options = [
    Option<"vectorRegisters", "vector-registers", "int64_t", /*default=*/"16",
           "Vector registers of the target (16: AVX2, 32: AVX-512); the GEMM "
           "path keeps 8 rows x 32 columns of accumulators in 16-lane vectors "
           "with 32, 4 x 16 in 8-lane vectors with 16">,
    Option<"byteDots", "byte-dots", "bool", /*default=*/"false",
           "Whether the row kernels may multiply interleaved codes of 1-8 "
           "bits as bytes with x in three signed bytes (tessera.dot_bytes: "
           "AVX512-VNNI; needs 32 vector registers)">,
    Option<"byteTiles", "byte-tiles", "bool", /*default=*/"false",
           "With byte-dots: whether 5-7 bit codes in tiles of 16 x 4 are read "
           "(byte permutes and tessera.multishift_bytes: AVX512-VBMI)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def TesseraLowerMonarchToVector
    : Pass<"tessera-lower-monarch-to-vector", "::mlir::ModuleOp"> {
  let summary = "Lower f32 tessera.monarch_mm to threaded vector kernels";
  let description = [{
    Every `tessera.monarch_mm` on f32 tensors becomes two block-diagonal
    products vectorized over the batch: X is transposed (8 x 8 blocks in
    registers) into `xt` (k*p x B rounded up to 8, zero padded); an
    `scf.forall` over the k blocks of `w1` computes `ht[i*q + j] = sum_t
    w1[i, j, t] * xt[i*p + t]`, one over the l blocks of `w2` computes
    `yt[c*l + u] = sum_v w2[u, c, v] * ht[v*l + u]` (the permutation is
    only the row indexing of these two loops), and `Y = init + yt^T`. The
    products run on register tiles of rows x 8-lane vectors (6 x 4 with 32
    vector registers, 3 x 3 with 16), one broadcast weight per row and one
    row of the input per step. Other element types are left for the
    reference lowering.
  }];
  let options = [
    Option<"vectorRegisters", "vector-registers", "int64_t", /*default=*/"16",
           "Vector registers of the target (16: AVX2, 32: AVX-512)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def TesseraLowerBsrToVector
    : Pass<"tessera-lower-bsr-to-vector", "::mlir::ModuleOp"> {
  let summary = "Lower f32 tessera.bsr_mm to threaded vector kernels";
  let description = [{
    Every `tessera.bsr_mm` on f32 tensors becomes a kernel over X^T
    vectorized over the rows of X: block rows are split into at most 64
    chunks of about equal work (stored blocks plus one per row; found by a
    binary search of `indptr` at run time, or computed at compile time for
    a constant pattern) run by an `scf.forall`; in a block row, a register
    tile of block rows x 8-lane vectors accumulates the products of every
    stored block (its C columns unrolled up to 16) and is stored once; the
    transposed result is transposed back and added to `init`. With fewer
    than 6 rows of X and C a multiple of 8 (decoding), a second kernel,
    chosen at run time, vectorizes over the block instead: per row of X and
    block row, one accumulator of 8 columns per row of the block (up to 16
    at a time) over all stored blocks, reduced once. A run-time
    pattern is read defensively (row ranges clamped to `[0, nnz]`, blocks
    with a column out of range skipped), a constant one (checked by the
    verifier) without checks. Other element types are left for the
    reference lowering.
  }];
  let options = [
    Option<"vectorRegisters", "vector-registers", "int64_t", /*default=*/"16",
           "Vector registers of the target (16: AVX2, 32: AVX-512)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def TesseraLowerMatmulToVector
    : Pass<"tessera-lower-matmul-to-vector", "::mlir::ModuleOp"> {
  let summary = "Lower dense f32 linalg.matmul to register-blocked GEMM tiles";
  let description = [{
    `linalg.matmul` on f32 tensors (default indexing maps, K and N static,
    K a multiple of 8, N at least 256) becomes the GEMM of the mpmm vector
    lowering: full blocks of 8 rows of A packed once; columns of B in tiles
    of 256 in an `scf.forall` (run on the thread pool after
    tessera-outline-parallel-loops); per block of 256 rows of B, the tile's
    columns copied into a panel of 16-column micro panels; a micro kernel of
    8 rows x 32 columns in 16-lane vectors (32 vector registers: AVX-512)
    or 4 x 16 in 8-lane vectors (16). In each tile,
    the rows past the last full block of 8 go one at a time, in strips of 8
    or 16 vectors of the tile's columns summed in registers over all of K.
    A single row of A (a GEMV, chosen at run time) takes chunks of 1024
    columns of B instead (the threads' unit), reading 8 rows of B at a time
    along the chunk (4 KiB runs rather than 1 KiB pieces of rows far apart,
    which the prefetchers do not follow): at 4096 x 4096, one thread, 6.6 ->
    3.2 ms against OpenBLAS's 2.3. The columns past the last full tile stay
    a `linalg.matmul` on slices.
  }];
  let options = [
    Option<"vectorRegisters", "vector-registers", "int64_t", /*default=*/"16",
           "Vector registers of the target (16: AVX2, 32: AVX-512)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def TesseraOutlineParallelLoops
    : Pass<"tessera-outline-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Outline the bodies of bufferized scf.forall loops for the thread pool";
  let description = [{
    Each one-dimensional `scf.forall` without shared outputs (that is, after
    bufferization) becomes a private function
    `@<function>_parallel<k>(%begin: index, %end: index, <live-ins>...)`,
    marked `tessera.parallel_body`, that runs iterations [begin, end) of the
    loop, and a call of it over all iterations. The program is correct as it
    stands (the call runs the loop serially); `tessera-lower-parallel-calls`
    later hands such calls to the runtime's thread pool. Constants used by
    the body are cloned into it rather than passed. With `threads=1`, and for
    loops of more than one dimension, the loop becomes serial `scf.for`
    loops instead.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"0",
           "Threads for parallel loops: 1 emits serial loops; 0 (all the "
           "runtime's threads) or more outlines them">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def TesseraLowerParallelCalls
    : Pass<"tessera-lower-parallel-calls", "::mlir::ModuleOp"> {
  let summary = "Run calls of outlined parallel bodies on the runtime's thread pool";
  let description = [{
    Runs on the LLVM dialect, after the conversion. Every call of a function
    marked `tessera.parallel_body` (see `tessera-outline-parallel-loops`),
    `call @body(%begin, %end, %args...)`, becomes

    ```
    %ctx = alloca {begin, args...}      // in the caller's entry block
    store %begin, %args... into %ctx
    call @tessera_rt_parallel_for(%end - %begin, 1, <threads>,
                                  @body_trampoline, %ctx)
    ```

    where `@body_trampoline(ctx, b, e)` loads the arguments and calls
    `@body(begin + b, begin + e, args...)`. The runtime splits [0, end -
    begin) into chunks over its threads (at most `threads` if it is 1 or
    more).
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"0",
           "Most threads a parallel call uses (0: the runtime's thread count)">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def TesseraLowerToLinalg : Pass<"tessera-lower-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower Tessera ops to linalg, tensor and arith (reference lowering)";
  let description = [{
    The reference lowering. `tessera.unpack` becomes a `linalg.generic` that
    extracts each code from its byte(s) with shifts and masks (codes may
    straddle bytes) into one `i8` per code, sign- or zero-extended;
    `tessera.pack` becomes a generic that assembles each byte from the bits
    of the codes it holds; `tessera.mpmm` becomes a dequantizing generic
    over `N x K/G x G` (so scales and zero points are plain broadcasts)
    followed by a contraction that accumulates in f32. Logical low-bit
    tensors become `i8` tensors, including dense constants. Correct for
    every shape; fast code paths come from the tiling and vector passes.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def TesseraPlaceBuffersOnGpu
    : Pass<"tessera-place-buffers-on-gpu", "::mlir::ModuleOp"> {
  let summary = "Put the host functions' buffers in GPU memory";
  let description = [{
    Runs after the loops became `gpu.launch` kernels (CUDA pipeline): the
    host code that is left only sizes, allocates, copies and launches, and
    every buffer it handles is in device memory (the arguments of a CUDA
    function are device pointers). In each function outside a `gpu.module`:

    - `memref.alloc`/`memref.alloca` become `gpu.alloc`, `memref.copy`
      becomes `gpu.memcpy`;
    - a `memref.get_global` (a constant, such as embedded weights) is copied
      into a `gpu.alloc` buffer where it is taken;
    - every buffer allocated here that is not returned (not even through a
      view) is freed with `gpu.dealloc` before each return; returned ones
      belong to the caller (the runtime copies them into its buffer).

    A host op that still reads or writes a buffer (a loop the GPU mapping
    left on the host) is an error at its location: the host cannot touch
    device memory.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def TesseraSetKernelMinBlocks
    : Pass<"tessera-set-kernel-min-blocks", "::mlir::ModuleOp"> {
  let summary = "Tell ptxas how many blocks of each kernel an SM must hold";
  let description = [{
    Runs after kernel outlining (CUDA pipeline): every kernel `gpu.func`
    whose known block size has at least `min-threads` threads and that has
    no `nvvm.minctasm` attribute gets `nvvm.minctasm = min-blocks` (PTX
    `.minnctapersm`). With only `.maxntid`, ptxas sizes a kernel's
    registers for an occupancy of its own choosing and spills where the
    kernel needs more: the tensor-core mpmm kernel (256 threads) was given
    80 registers and spilled for 4-bit signed codes on sm_90a; told 1 block
    per SM will do, it takes the 116 it needs (at 2, 1- and 2-bit codes
    spilled on sm_80 at the 128 registers that allows). The 128-thread
    kernels keep ptxas' choice: told 1 block, the warp mpmm kernels took
    111 and 218 registers instead of 72 and 90; told 4, odd widths spilled.
  }];
  let options = [
    Option<"minBlocks", "min-blocks", "int64_t", /*default=*/"1",
           "Blocks per multiprocessor each kernel must fit (at least 1)">,
    Option<"minThreads", "min-threads", "int64_t", /*default=*/"256",
           "Only kernels of blocks of at least this many threads">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def TesseraTileParallelLoopsForGpu
    : Pass<"tessera-tile-parallel-loops-for-gpu", "::mlir::func::FuncOp"> {
  let summary = "Tile each parallel loop nest into blocks of threads along its innermost dimension";
  let description = [{
    Tiles every outermost `scf.parallel` (a linalg op's loops, CUDA pipeline)
    by 1 in every dimension but the innermost, which is tiled by
    `threads-per-block` (by the static trip count rounded up to a warp of 32
    when that is smaller), without min/max bounds: the inner loop has
    constant bounds and a guard, so that `gpu-map-parallel-loops` and
    `convert-parallel-loops-to-gpu` make its iterations the threads of a
    block and the outer loop's the blocks. Consecutive threads then access
    consecutive elements of row-major buffers (coalesced), and a loop whose
    innermost dimension has at least `threads-per-block` iterations keeps
    every thread busy. Upstream's `scf-parallel-loop-tiling` tiles the
    leading dimensions instead (for M = 1, one busy thread per block).
    Nests in which a loop already carries a `mapping` (the tensor-core mpmm
    kernel, whose block loop the canonicalizer may have rebuilt without its
    own) are left as they are.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", /*default=*/"128",
           "Threads along the innermost dimension (a multiple of 32)">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

def TesseraLowerMpmmToParallelLoops
    : Pass<"tessera-lower-mpmm-to-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Lower tessera.mpmm to GPU kernels: warps or split-K on CUDA cores, mma.sync on tensor cores";
  let description = [{
    For the CUDA pipeline: each `tessera.mpmm` that fits becomes
    `scf.parallel` nests whose iterations are GPU threads, chosen from its
    codes and at run time from the number of rows M of x:

    - M below `mma-min-rows` (when it is not 0) with integer codes of 1, 2,
      4 or 8 bits and no float offsets, K and the group size multiples of a
      chunk of 128, 64 or 32 codes whose quarter fills whole words: tensor
      cores for few rows, mapped to blocks of 4 warps and to blocks of 8
      rows of x. Y^T += W X^T on `nvgpu.mma.sync` m16n8k16: 16 weight rows
      as A, up to 8 rows of x (rounded to f16) as B's columns. A warp takes
      two 16-row tiles over a range of K chunks; a lane decodes pairs of its
      codes (bits p and p + 16 of a word) into an f16x2 q - z exactly (a
      shift, a mask and OR into 1024's mantissa, an f16x2 add); each
      chunk's products, summed from zero in f32, are scaled by the rows'
      group scales into f32 accumulators, added into Y with
      `memref.atomic_rmw addf`. With `emulate-mma` (tests) each warp's lanes
      and mma.sync run one after another from memory, on a CPU.
    - M = 1, and M below `mma-min-rows`, for other codes, where K and the
      group size are multiples of 32: the warp kernel, mapped to blocks of
      4 warps. A warp
      takes a strip of 1024 codes of K for a group of weight rows (4 with
      one row of x, whose 32 values per lane it loads once and keeps for
      several row groups; 2 with four rows of x). Its lanes read runs of 8
      codes interleaved (run r of lane i is run 32 r + i of the strip, so
      that the warp's loads of W and x are contiguous) where a run is whole
      aligned bytes (1, 2, 4, 8 bits), else 32 consecutive codes in one
      load; integer codes become f32 through the mantissa of 2^23 (one OR),
      the zero point and bias subtracted once per run; the lanes' sums are
      added by `gpu.shuffle xor` and one lane adds each into Y with
      `memref.atomic_rmw addf`. With `emulate-warps` (tests) the loops
      carry no mapping and every lane adds its own sums, so that the nest
      runs on a CPU.
    - Otherwise M = 1, and M below `mma-min-rows`: a fused split-K nest over (row
      tiles, N x K-chunks) whose iterations are independent, later the
      threads of GPU blocks. An iteration decodes the packed codes of one
      weight row over a chunk of K (whole groups, at least 256 codes; 8
      codes from b bytes at a time, any width 1-8, integer codes, float
      formats through their decode table, codebooks), accumulates R rows of
      x against them with the group scale and zero point applied once per
      group (through the group sum of x), and adds its partial sums into Y
      with `memref.atomic_rmw addf`. R is 1 when M = 1 and 4 otherwise. The
      chunk index is innermost, so consecutive iterations read consecutive
      bytes of W. On a CPU the nest runs as loops, which is how its
      numerics are tested without a GPU.
    - M at least `mma-min-rows` (K and the group size multiples of 32): the
      tensor-core kernel, already mapped to blocks of 256 threads (8 warps)
      computing 128 x 64 tiles of Y. The steps of 32 codes are staged in
      two shared-memory buffers (two private `memref.global`s in the
      workgroup address space): every thread converts 16 values of one of
      the block's rows of x to f16 and decodes 8 consecutive codes of one of
      its weight rows, applying the group's scale and zero point in
      registers (f32, rounded to f16). In step s a thread issues the loads
      of x for step s + 1, reads its fragments of step s (16-byte loads),
      the warp issues 16 `nvgpu.mma.sync` m16n8k16 (32 x 32 f32
      accumulators in registers over all of K), then the thread stages step
      s + 1 into the other buffer and a `gpu.barrier` ends the step. The
      k-slots of the mma fragments are relabelled so that a lane's operands
      are contiguous (the relabelling is the same for A and B, so every
      product is unchanged). With `emulate-mma`
      (tests) the staging runs thread by thread and each warp's lanes one
      after another, in memory, and each mma is computed from the PTX
      fragment layout, so that the whole kernel runs on a CPU.

    Operands enter through `bufferization.to_buffer` and Y leaves through
    `to_tensor`, so the nests sit in tensor code. Taken: f32 results; f32,
    f16 or bf16 activations; K and the group size multiples of 8; weights
    and integer zero points in canonical storage (a `tessera.unpack`
    without layout). Other ops are left for the reference lowering.
  }];
  let options = [
    Option<"mmaMinRows", "mma-min-rows", "int64_t", /*default=*/"32",
           "Rows of x from which the tensor-core kernel is taken (0: never, "
           "1: for every M)">,
    Option<"emulateMma", "emulate-mma", "bool", /*default=*/"false",
           "Emit the tensor-core kernel's warps lane by lane with the mma "
           "computed in software (to check it on a CPU)">,
    Option<"emulateWarps", "emulate-warps", "bool", /*default=*/"false",
           "Emit the warp kernel without its mapping and shuffles, each lane "
           "adding its own sums into Y (to check it on a CPU)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def TesseraLowerMatmulToMma
    : Pass<"tessera-lower-matmul-to-mma", "::mlir::ModuleOp"> {
  let summary = "Run f16 linalg.matmul on tensor cores (mma.sync) from min-rows rows";
  let description = [{
    For the CUDA pipeline: each `linalg.matmul` on tensors (default
    indexing maps) with f16 operands A (M x K) and B (K x N), static K and
    N, K a multiple of 32, and an f32 or f16 result becomes a run-time
    choice: for M of at least `min-rows`, the tensor-core kernel of
    `tessera-lower-mpmm-to-parallel-loops` (blocks of 256 threads for 128 x
    64 tiles, the steps of 32 columns of K staged in two shared-memory
    buffers, one barrier per step, `nvgpu.mma.sync` m16n8k16 with f32
    accumulators), B staged transposed (thread tid copies 8 consecutive
    values of a row of B, so that a warp reads whole row pieces; like x,
    its loads for the next step are issued before the mma of the current
    one); for smaller M the `linalg.matmul` on the same buffers, for the
    reference path. Y is allocated next to the op and starts as a copy of
    the init. The result is the
    exact products of the f16 values summed in f32 (rounded to f16 for an
    f16 result). With `emulate-mma` (tests) the kernel's threads and lanes
    run one after another on a CPU, each mma computed from the PTX
    fragment layout. Other matmuls are left alone.
  }];
  let options = [
    Option<"minRows", "min-rows", "int64_t", /*default=*/"32",
           "Rows of A from which the tensor-core kernel is taken">,
    Option<"emulateMma", "emulate-mma", "bool", /*default=*/"false",
           "Emit the kernel's threads and lanes one after another with the "
           "mma computed in software (to check it on a CPU)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // TESSERA_PASSES_TD
