//===- TesseraOps.td - Tessera operations ------------------*- tablegen -*-===//

#ifndef TESSERA_OPS_TD
#define TESSERA_OPS_TD

include "TesseraDialect.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Tessera_LowBitInt : Type<
    CPred<"::mlir::tessera::isLowBitIntegerType($_self)">,
    "integer of 1 to 8 bits with explicit signedness (siN or uiN)">;

def Tessera_LowBit : Type<
    CPred<"::mlir::tessera::isLowBitType($_self)">,
    "low-bit code type (siN/uiN with N <= 8, !tessera.fNeXmY, f4E2M1FN, "
    "f6E3M2FN, f6E2M3FN, f8E4M3FN or f8E5M2)">;

def Tessera_ActivationFloat : AnyTypeOf<[F32, F16, BF16]>;

def Tessera_LowBitTensor : RankedTensorOf<[Tessera_LowBit]>;
def Tessera_PackedTensor : 1DTensorOf<[I8]>;

//===----------------------------------------------------------------------===//
// MpmmOp
//===----------------------------------------------------------------------===//

def Tessera_MpmmOp : Tessera_Op<"mpmm", [
    Pure, AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<InferTypeOpInterface>,
    DeclareOpInterfaceMethods<TilingInterface, [
        "getLoopIteratorTypes", "getIterationDomain", "getTiledImplementation",
        "getResultTilePosition", "generateResultTileValue",
        "getIterationDomainTileFromResultTile"]>]> {
  let summary = "mixed-precision matmul of activations with low-bit weights";
  let description = [{
    Multiplies activations `X` (M x K, f32/f16/bf16) with the transpose of a
    low-bit weight matrix `W` (N x K, the PyTorch Linear layout) that is
    quantized group-wise along K with group size `G` (G divides K; G = K is
    per-channel quantization). With `g = k / G`:

    ```
    Y[m, n] = init[m, n] + sum_k X[m, k] * deq(n, k)     (accumulated in f32)
    ```

    where the dequantized weight depends on the zero-point mode, which is
    given by the element type of the optional `zeros` operand:

    | `zeros`                   | mode          | `deq(n, k)`                        |
    |---------------------------|---------------|------------------------------------|
    | absent                    | symmetric     | `s[n, g] * v(q[n, k])`             |
    | integer (`siN`/`uiN`, N <= 8) | integer zero | `s[n, g] * (v(q[n, k]) - z[n, g])` |
    | float (`f32`/`f16`/`bf16`)| float offset  | `s[n, g] * v(q[n, k]) + z[n, g]`   |

    and `v(q)` is the value of the code `q`: its integer value (`siN` codes
    are signed, `uiN` codes unsigned), the exact value of a float format
    (`!tessera.fNeXmY` and the builtin small floats; these take no integer
    zero point), or `codebook[q]` when a codebook of `2^b` values is given
    (the weights must then be unsigned integers). The integer zero point is
    subtracted exactly (as an integer) before scaling; scales, float offsets
    and codebook values are converted to f32 first. `s` and `z` have shape
    `N x K/G`. The accumulation starts from `init`, which the result
    replaces (destination-passing style); the result has `init`'s type, and
    f16/bf16 results are rounded once from the f32 sum.

    `strategy` (optional) pins how the op is computed; without it,
    `tessera-choose-mpmm-strategy` decides. `"dequantize"`: codes are
    unpacked, converted and multiplied (the vector lowering, or the
    reference lowering). `"lut"` / `"lut_f32"`: the T-MAC table-lookup
    strategy (`tessera-expand-lut-mpmm` rewrites the op into
    `tessera.lut_tables`, `tessera.lut_accumulate` and
    `tessera.lut_combine`) with int8 or f32 tables; it needs integer codes
    without a codebook and a group size that is a multiple of 4. Int8 tables
    round each table entry (see `tessera.lut_tables`), so `"lut"` is not
    bit-exact with `"dequantize"`; `"lut_f32"` differs from it only in the
    order of f32 additions.

    The op implements `TilingInterface` over the iteration domain (M, N),
    both parallel (K, the reduction, is not tiled): a tile of rows
    `[m0, m0 + ms)` and columns `[n0, n0 + ns)` is an mpmm of the slices
    `x[m0 : ms, :]`, `weights[n0 : ns, :]`, `scales` / `zeros[n0 : ns, :]`
    and `init[m0 : ms, n0 : ns]`, so upstream tiling (`scf::tileUsingSCF`,
    `transform.structured.tile_using_forall`) and producer/consumer fusion
    apply to it unchanged. The weights keep a static shape, so tiles of N
    must have a static size: a tile size that divides N.

    The integer zero-point mode covers GPTQ and AWQ, the float-offset mode
    ggml's q4_1 and KIVI; a fractional zero point in the subtracted form
    (`s * (v - z)` with float `z`, as HQQ stores it) is the float offset
    `-s * z`.

    Example (3-bit unsigned weights, group 32, integer zero points):

    ```mlir
    %y = tessera.mpmm %x, %w : tensor<?x128xf32>, tensor<64x128xui3>
           scales %s : tensor<64x4xf16>
           zeros %z : tensor<64x4xui3>
           group_size 32
           outs %init : tensor<?x64xf32>
    ```
  }];

  let arguments = (ins
    RankedTensorOf<[Tessera_ActivationFloat]>:$x,
    Tessera_LowBitTensor:$weights,
    RankedTensorOf<[Tessera_ActivationFloat]>:$scales,
    Optional<RankedTensorOf<[Tessera_LowBitInt, Tessera_ActivationFloat]>>:$zeros,
    Optional<RankedTensorOf<[Tessera_ActivationFloat]>>:$codebook,
    RankedTensorOf<[Tessera_ActivationFloat]>:$init,
    ConfinedAttr<I64Attr, [IntPositive]>:$group_size,
    OptionalAttr<StrAttr>:$strategy
  );
  let results = (outs RankedTensorOf<[Tessera_ActivationFloat]>:$result);

  let assemblyFormat = [{
    $x `,` $weights `:` type($x) `,` type($weights)
    `scales` $scales `:` type($scales)
    (`zeros` $zeros^ `:` type($zeros))?
    (`codebook` $codebook^ `:` type($codebook))?
    `group_size` $group_size
    `outs` $init `:` type($init) attr-dict
  }];

  let extraClassDeclaration = [{
    /// The zero-point mode implied by the type of `zeros`.
    ZeroPointMode getZeroPointMode();
    /// Number of bits of a weight code.
    unsigned getWeightBits();
    /// Whether weight codes are signed (siN).
    bool hasSignedWeights();
    MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// UnpackOp / PackOp
//===----------------------------------------------------------------------===//

def Tessera_UnpackOp : Tessera_Op<"unpack", [Pure]> {
  let summary = "view packed storage as a logical low-bit tensor";
  let description = [{
    Reads a logical low-bit tensor from its packed storage. Without a
    `layout`, the storage is canonical: the result, flattened in row-major
    order, has element `i` at bits `[i*b, (i+1)*b)` of `storage`, least
    significant bit first, and `storage` has exactly `ceil(n*b/8)` bytes for
    a result of `n` elements. With a `#tessera.layout`, the storage is
    arranged as that attribute says (tiles, bit planes) and has the size it
    implies. The result shape is static. Padding bits are ignored.

    Example:

    ```mlir
    %w = tessera.unpack %bytes : tensor<6xi8> -> tensor<2x8xui3>
    %v = tessera.unpack %planes layout <tile = [2, 8], bit_planes>
           : tensor<6xi8> -> tensor<2x8xui3>
    ```
  }];
  let arguments = (ins Tessera_PackedTensor:$storage,
                       OptionalAttr<Tessera_LayoutAttr>:$layout);
  let results = (outs Tessera_LowBitTensor:$result);
  let assemblyFormat =
      "$storage (`layout` $layout^)? attr-dict `:` type($storage) `->` type($result)";
  let hasVerifier = 1;
}

def Tessera_PackOp : Tessera_Op<"pack", [Pure]> {
  let summary = "pack a logical low-bit tensor into its storage";
  let description = [{
    The inverse of `tessera.unpack`: writes the codes of a statically shaped
    low-bit tensor into its packed storage, canonical (`ceil(n*b/8)` bytes,
    row-major, element `i` at bits `[i*b, (i+1)*b)`, least significant bit
    first) or in the given `#tessera.layout`. Padding bits are zero.

    Example:

    ```mlir
    %bytes = tessera.pack %w : tensor<2x8xui3> -> tensor<6xi8>
    ```
  }];
  let arguments = (ins Tessera_LowBitTensor:$codes,
                       OptionalAttr<Tessera_LayoutAttr>:$layout);
  let results = (outs Tessera_PackedTensor:$result);
  let assemblyFormat =
      "$codes (`layout` $layout^)? attr-dict `:` type($codes) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// DequantizeOp / QuantizeOp
//===----------------------------------------------------------------------===//

def Tessera_DequantizeOp : Tessera_Op<"dequantize", [Pure, AttrSizedOperandSegments]> {
  let summary = "dequantize group-wise quantized codes to f32";
  let description = [{
    For codes `q` of shape N x K, quantized in groups of `group_size` along
    K, returns the N x K f32 tensor `deq(n, k)` of `tessera.mpmm` (the zero
    point mode follows from the type of `zeros`, `v(q)` from the code type
    or the `codebook`). `tessera.mpmm` is defined as this followed by an f32
    matmul, and is lowered that way by the reference lowering.

    Example:

    ```mlir
    %w = tessera.dequantize %q : tensor<64x128xui4> scales %s : tensor<64x1xf16>
           zeros %z : tensor<64x1xui4> group_size 128 -> tensor<64x128xf32>
    ```
  }];
  let arguments = (ins
    Tessera_LowBitTensor:$codes,
    RankedTensorOf<[Tessera_ActivationFloat]>:$scales,
    Optional<RankedTensorOf<[Tessera_LowBitInt, Tessera_ActivationFloat]>>:$zeros,
    Optional<RankedTensorOf<[Tessera_ActivationFloat]>>:$codebook,
    ConfinedAttr<I64Attr, [IntPositive]>:$group_size
  );
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $codes `:` type($codes)
    `scales` $scales `:` type($scales)
    (`zeros` $zeros^ `:` type($zeros))?
    (`codebook` $codebook^ `:` type($codebook))?
    `group_size` $group_size attr-dict `->` type($result)
  }];
  let extraClassDeclaration = [{
    ZeroPointMode getZeroPointMode();
  }];
  let hasVerifier = 1;
}

def Tessera_QuantizeOp : Tessera_Op<"quantize", [Pure]> {
  let summary = "quantize f32 values group-wise to low-bit codes";
  let description = [{
    Quantizes an N x K f32 tensor `w` in groups of `group_size` consecutive
    elements along K. The scheme follows from the result types; for a group
    with minimum `lo`, maximum `hi` and largest magnitude `amax`, and integer
    codes in `[qmin, qmax]` (`L = qmax - qmin`):

    | codes | `zeros` | scheme | scale `s` | zero | code |
    |---|---|---|---|---|---|
    | `siN`, N >= 2 | none | symmetric (absmax) | `amax / qmax` | | `clamp(rint(w / s), qmin, qmax)` |
    | `siN`/`uiN` | `siN`/`uiN` | asymmetric, integer zero point | `(hi' - lo') / L` | `z = clamp(rint(qmin - lo' / s), zmin, zmax)` | `clamp(rint(w / s) + z, qmin, qmax)` |
    | `siN`/`uiN` | f32/f16/bf16 | asymmetric, float offset | `(hi - lo) / L` | `z = lo - qmin * s` | `clamp(rint((w - z) / s), qmin, qmax)` |
    | float format | none | absmax to the format's largest value | `amax / largest` | | `encode(w / s)` |

    where `lo' = min(lo, 0)` and `hi' = max(hi, 0)` (the integer zero point
    then represents 0 exactly), `rint` rounds half to even, and `encode`
    rounds to the nearest value of the format, ties to even, saturating.
    The scale (and float offset) is computed in f32, rounded once to the
    type of `scales` (and `zeros`), and the codes are computed with the
    rounded values, so `tessera.dequantize` reproduces each element within
    half a quantization step (`s / 2`, or half the format's spacing times
    `s` for float formats) plus the rounding of the stored scale and offset.
    A group whose scale is 0 (all zeros, or `hi == lo`) gets the code that
    dequantizes to its value exactly (`z` for the integer zero point, `qmin`
    with offset `lo`, code 0 otherwise).

    Example:

    ```mlir
    %q, %s, %z = tessera.quantize %w group_size 128
        : tensor<64x256xf32> -> tensor<64x256xui3>, tensor<64x2xf16>, tensor<64x2xui3>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input,
                       ConfinedAttr<I64Attr, [IntPositive]>:$group_size);
  let results = (outs Tessera_LowBitTensor:$codes,
                      RankedTensorOf<[Tessera_ActivationFloat]>:$scales,
                      Optional<RankedTensorOf<[Tessera_LowBitInt, Tessera_ActivationFloat]>>:$zeros);
  let assemblyFormat = [{
    $input `group_size` $group_size attr-dict `:` type($input) `->` type($codes) `,` type($scales) (`,` type($zeros)^)?
  }];
  let extraClassDeclaration = [{
    ZeroPointMode getZeroPointMode();
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// LookupOp
//===----------------------------------------------------------------------===//

def Tessera_LookupOp : Tessera_Op<"lookup", [Pure]> {
  let summary = "table lookup: out = table[index]";
  let description = [{
    Returns a tensor of the shape of `indices` whose elements are
    `table[indices[...]]`. With unsigned low-bit indices (`uiN`) the table
    must have exactly `2^N` entries, so every lookup is in range; with
    `index` or signless integer indices (read as unsigned), an index past
    the end of the table is undefined behaviour.

    Example:

    ```mlir
    %v = tessera.lookup %table[%codes] : tensor<16xf32>, tensor<64x128xui4> -> tensor<64x128xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[AnyType]>:$table,
                       RankedTensorOf<[Tessera_LowBitInt, AnySignlessInteger, Index]>:$indices);
  let results = (outs RankedTensorOf<[AnyType]>:$result);
  let assemblyFormat = [{
    $table `[` $indices `]` attr-dict `:` type($table) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// LUT (T-MAC) operations
//===----------------------------------------------------------------------===//

def Tessera_LutTablesOp : Tessera_Op<"lut_tables", [Pure]> {
  let summary = "build the T-MAC lookup tables of activations";
  let description = [{
    For each row `m` of `x` (M x K) and each run `j` of 4 activations
    (`K / 4` runs), the 16 signed sums

    ```
    T[m, j, p] = sum_{t < 4} x[m, 4j + t] * (bit_t(p) ? +1 : -1)
    ```

    The table is odd under complementing `p` (`T[m, j, 15 - p] =
    -T[m, j, p]`, mirror symmetry), so a lowering computes 8 entries and
    negates them. Also returns `sums[m, g] = sum of x[m, k]` over group `g`
    of `group_size` activations, which `tessera.lut_combine` needs to turn
    signed sums back into sums over set bits.

    With an `i8` `tables` result, the tables of each group are quantized
    symmetrically: `table_scales[m, g] = a / 127` where `a` is the largest
    `|T[m, j, p]|` of the group's runs (`= max_j sum_t |x[m, 4j + t]|`), and
    the stored entry is `roundeven(T * (127 / a))`, so that
    `|T - table_scales * entry| <= table_scales / 2` (up to f32 rounding);
    a group of zeros has scale 0 and entries 0. With an `f32` `tables`
    result the entries are exact sums and `table_scales` is 1.

    With a `codebook` (at most 16 values, for codebook weights such as
    NF4), the tables are per activation instead: `K` tables of 16 entries,
    `T[m, k, q] = x[m, k] * codebook[q]` (0 past the codebook's end), and
    int8 tables use `a = max_k |x[m, k]| * max_q |codebook[q]|` over the
    group.

    Example:

    ```mlir
    %t, %ts, %sums = tessera.lut_tables %x group_size 128
        : tensor<?x4096xf32> -> tensor<?x1024x16xi8>, tensor<?x32xf32>, tensor<?x32xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[Tessera_ActivationFloat]>:$x,
                       Optional<1DTensorOf<[Tessera_ActivationFloat]>>:$codebook,
                       ConfinedAttr<I64Attr, [IntPositive]>:$group_size);
  let results = (outs RankedTensorOf<[F32, I8]>:$tables,
                      RankedTensorOf<[F32]>:$table_scales,
                      RankedTensorOf<[F32]>:$sums);
  let assemblyFormat = [{
    $x (`codebook` $codebook^ `:` type($codebook))? `group_size` $group_size
    attr-dict `:` type($x) `->` type($tables) `,` type($table_scales) `,`
    type($sums)
  }];
  let hasVerifier = 1;
}

def Tessera_LutAccumulateOp : Tessera_Op<"lut_accumulate", [Pure]> {
  let summary = "look up weight bit planes in T-MAC tables, per group";
  let description = [{
    For b-bit integer weights `W` (N x K, `uiN` or `siN`, the bits of the
    two's complement code for `siN`), plane `i < b`, row `m` of the tables,
    weight row `n` and group `g` of `group_size` along K:

    ```
    acc[i, m, n, g] = sum_{runs j of group g} tables[m, j, p_i(n, j)]
    p_i(n, j)      = sum_{t < 4} bit_i(W[n, 4j + t]) << t
    ```

    i.e. the 4 bits of plane `i` at a run of 4 weights index the run's
    table. With `i8` tables the sums are exact in `i32`; with `f32` tables
    they are `f32`. With per-activation tables (`K` tables, from a
    codebook; unsigned codes of at most 4 bits) the code itself is the
    index and there is one plane: `acc[0, m, n, g] = sum_{k in g}
    tables[m, k, W[n, k]]`. A lowering reads `W` from a bit-plane layout
    (`#tessera.layout<tile = [L, 8], bit_planes>`): the index of a run is
    then a nibble of a byte, and the lookup of L rows one byte shuffle.

    Example:

    ```mlir
    %acc = tessera.lut_accumulate %t, %w group_size 128
        : tensor<?x1024x16xi8>, tensor<4096x4096xui2> -> tensor<2x?x4096x32xi32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32, I8]>:$tables,
                       RankedTensorOf<[Tessera_LowBitInt]>:$weights,
                       ConfinedAttr<I64Attr, [IntPositive]>:$group_size);
  let results = (outs RankedTensorOf<[F32, I32]>:$result);
  let assemblyFormat = [{
    $tables `,` $weights `group_size` $group_size attr-dict `:` type($tables)
    `,` type($weights) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// Per-activation (codebook) tables: K of them instead of K/4.
    bool isDirect() {
      return getTables().getType().getDimSize(1) ==
             getWeights().getType().getDimSize(1);
    }
  }];
  let hasVerifier = 1;
}

def Tessera_LutCombineOp : Tessera_Op<"lut_combine", [
    Pure, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "combine bit-plane lookups into the mpmm result";
  let description = [{
    Finishes the LUT strategy of `tessera.mpmm`. With plane weights
    `w_i = 2^i` (and `w_{b-1} = -2^{b-1}` for signed codes of type
    `code_type`), the sum over a group of `x * v(q)` is
    `sum_i w_i * (table_scales * acc_i + sums) / 2`, since a signed-sum
    lookup counts a set bit as `+x` and a clear one as `-x`. So, with
    `c_i = w_i / 2` and `C = sum_i c_i` (`(2^b - 1) / 2` unsigned, `-1/2`
    signed):

    ```
    P[m, n, g] = table_scales[m, g] * sum_i c_i * acc[i, m, n, g]
    Y[m, n] = init[m, n] + sum_g s[n, g] * (P + (C - z[n, g]) * sums[m, g])   (integer zero)
    Y[m, n] = init[m, n] + sum_g s[n, g] * (P + C * sums[m, g]) + z[n, g] * sums[m, g]   (float offset)
    ```

    and without `zeros`, `z = 0`. With `direct` (the sums of
    per-activation codebook tables), `acc` has one plane that already is the
    group's sum of `x * v(q)` in table-scale units: `P = table_scales * acc`
    and `C = 0`. The zero point thus enters as a rank-1
    term (`z[n, g] * sums[m, g]`), as in `tessera.mpmm`'s three modes; the
    result is accumulated in f32 and has `init`'s type.

    Example:

    ```mlir
    %y = tessera.lut_combine %acc, %ts, %sums : tensor<2x?x4096x32xi32>, tensor<?x32xf32>, tensor<?x32xf32>
           scales %s : tensor<4096x32xf16> zeros %z : tensor<4096x32xui2>
           code_type ui2 outs %init : tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[F32, I32]>:$acc,
    RankedTensorOf<[F32]>:$table_scales,
    RankedTensorOf<[F32]>:$sums,
    RankedTensorOf<[Tessera_ActivationFloat]>:$scales,
    Optional<RankedTensorOf<[Tessera_LowBitInt, Tessera_ActivationFloat]>>:$zeros,
    RankedTensorOf<[Tessera_ActivationFloat]>:$init,
    TypeAttr:$code_type,
    UnitAttr:$direct
  );
  let results = (outs RankedTensorOf<[Tessera_ActivationFloat]>:$result);
  let assemblyFormat = [{
    $acc `,` $table_scales `,` $sums `:` type($acc) `,` type($table_scales) `,`
    type($sums)
    `scales` $scales `:` type($scales)
    (`zeros` $zeros^ `:` type($zeros))?
    `code_type` $code_type (`direct` $direct^)?
    `outs` $init `:` type($init) attr-dict
  }];
  let extraClassDeclaration = [{
    /// The zero-point mode implied by the type of `zeros`.
    ZeroPointMode getZeroPointMode();
    MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Vector byte operations of the LUT kernel
//===----------------------------------------------------------------------===//

def Tessera_ByteVector : VectorOfLengthAndType<[32, 64], [I8]>;

def Tessera_ShuffleBytesOp : Tessera_Op<"shuffle_bytes",
    [Pure, AllTypesMatch<["table", "indices", "result"]>]> {
  let summary = "16-entry table lookup in every 16-byte lane";
  let description = [{
    `result[l] = indices[l] & 0x80 ? 0 : table[16 * (l / 16) + (indices[l] & 15)]`:
    each 16-byte lane of `table` is a table that the same lane of `indices`
    indexes (the semantics of x86's `vpshufb`). Created by
    tessera-lower-lut-to-vector; tessera-lower-x86-byte-ops turns it into
    the instruction of its width (AVX2 for 32 bytes, AVX-512BW for 64).

    ```mlir
    %r = tessera.shuffle_bytes %table, %idx : vector<32xi8>
    ```
  }];
  let arguments = (ins Tessera_ByteVector:$table, Tessera_ByteVector:$indices);
  let results = (outs Tessera_ByteVector:$result);
  let assemblyFormat = "$table `,` $indices attr-dict `:` type($result)";
}

def Tessera_SumBytePairsOp : Tessera_Op<"sum_byte_pairs", [Pure]> {
  let summary = "weighted sums of adjacent signed bytes, as i16";
  let description = [{
    `result[l] = weight * (sext(x[2l]) + sext(x[2l + 1]))`, exact in i16
    for a `weight` from 1 (the default, not printed) to 127 (the semantics
    of x86's `vpmaddubsw` with a vector of `weight` bytes, whose saturation
    at 2^15 two products of at most 127 * 128 cannot reach). Lowered by
    tessera-lower-x86-byte-ops. tessera-lower-lut-to-vector weighs the
    lookups of bit plane i by 2^i this way, so that several planes share
    an accumulator.

    ```mlir
    %s = tessera.sum_byte_pairs %x : vector<32xi8> -> vector<16xi16>
    %s4 = tessera.sum_byte_pairs %x times 4 : vector<32xi8> -> vector<16xi16>
    ```
  }];
  let arguments = (ins Tessera_ByteVector:$x,
                       DefaultValuedAttr<I64Attr, "1">:$weight);
  let results = (outs VectorOfLengthAndType<[16, 32], [I16]>:$result);
  let assemblyFormat = "$x (`times` $weight^)? attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
}

def Tessera_PermuteBytesOp : Tessera_Op<"permute_bytes",
    [Pure, AllTypesMatch<["table", "indices", "result"]>]> {
  let summary = "64-entry table lookup across the whole vector";
  let description = [{
    `result[l] = table[indices[l] & 63]`: one 64-byte table that every
    byte of `indices` indexes by its low 6 bits (the semantics of x86's
    `vpermb`, AVX512-VBMI). Created by tessera-lower-lut-to-vector for
    four 16-entry tables at once (bits 4-5 of an index pick the table);
    lowered by tessera-lower-x86-byte-ops.

    ```mlir
    %r = tessera.permute_bytes %table, %idx : vector<64xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[64], [I8]>:$table,
                       VectorOfLengthAndType<[64], [I8]>:$indices);
  let results = (outs VectorOfLengthAndType<[64], [I8]>:$result);
  let assemblyFormat = "$table `,` $indices attr-dict `:` type($result)";
}

def Tessera_PermuteLanesOp : Tessera_Op<"permute_lanes",
    [Pure, AllTypesMatch<["table", "result"]>]> {
  let summary = "16-entry f32 table lookup across the whole vector";
  let description = [{
    `result[l] = table[indices[l] & 15]`: one table of 16 f32 values that
    every i32 lane of `indices` indexes by its low 4 bits (the semantics
    of x86's `vpermps` on 512 bits, AVX-512F). Created by
    tessera-lower-mpmm-to-vector to look up, for 16 columns of 1-bit
    codes at once, the sum of x over the set bits of each column's run of
    4 codes; lowered by tessera-lower-x86-byte-ops.

    ```mlir
    %r = tessera.permute_lanes %table, %idx : vector<16xi32> -> vector<16xf32>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[16], [F32]>:$table,
                       VectorOfLengthAndType<[16], [I32]>:$indices);
  let results = (outs VectorOfLengthAndType<[16], [F32]>:$result);
  let assemblyFormat = "$table `,` $indices attr-dict `:` type($indices) `->` type($result)";
}

def Tessera_MultishiftBytesOp : Tessera_Op<"multishift_bytes",
    [Pure, AllTypesMatch<["x", "shifts", "result"]>]> {
  let summary = "unaligned bytes of each 64-bit word";
  let description = [{
    `result[l] = (w >> s | w << (64 - s)) & 255` for `w` the 64-bit word of
    `x` that holds byte `l` (bytes `8 (l / 8)` to `8 (l / 8) + 7`, little
    endian) and `s = shifts[l] & 63`: each byte takes the 8 bits of its
    word that start at bit `s`, wrapping past bit 63 (the semantics of
    x86's `vpmultishiftqb`, AVX512-VBMI; 32 bytes with AVX512-VL). Created
    by tessera-lower-mpmm-to-vector to take eight codes of 5 to 7 bits out
    of a word, one per byte; lowered by tessera-lower-x86-byte-ops.

    ```mlir
    %r = tessera.multishift_bytes %x, %shifts : vector<64xi8>
    ```
  }];
  let arguments = (ins Tessera_ByteVector:$x, Tessera_ByteVector:$shifts);
  let results = (outs Tessera_ByteVector:$result);
  let assemblyFormat = "$x `,` $shifts attr-dict `:` type($result)";
}

def Tessera_DotBytesOp : Tessera_Op<"dot_bytes",
    [Pure, AllTypesMatch<["acc", "result"]>, AllTypesMatch<["lhs", "rhs"]>]> {
  let summary = "accumulated dot products of 4 unsigned by 4 signed bytes";
  let description = [{
    `result[l] = acc[l] + sum_{t < 4} zext(lhs[4l + t]) * sext(rhs[4l + t])`,
    in i32, wrapping on overflow (the semantics of x86's `vpdpbusd`,
    AVX512-VNNI; a term is at most 4 * 255 * 128 in magnitude). `lhs` is
    read as unsigned bytes (a coefficient of 128
    is the byte -128); 16 lanes (`vpdpbusd` on zmm) or 8 (on ymm,
    AVX512-VL), four bytes per lane. Created by tessera-lower-lut-to-vector
    to sum four table lookups of a weight row with its bit planes' weights
    2^i, and by tessera-lower-mpmm-to-vector to multiply codes with x in
    signed bytes; lowered by tessera-lower-x86-byte-ops.

    ```mlir
    %s = tessera.dot_bytes %acc, %coefficients, %entries : vector<64xi8> into vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[8, 16], [I32]>:$acc,
                       VectorOfLengthAndType<[32, 64], [I8]>:$lhs,
                       VectorOfLengthAndType<[32, 64], [I8]>:$rhs);
  let results = (outs VectorOfLengthAndType<[8, 16], [I32]>:$result);
  let hasVerifier = 1;
  let assemblyFormat = "$acc `,` $lhs `,` $rhs attr-dict `:` type($lhs) `into` type($result)";
}

//===----------------------------------------------------------------------===//
// Structured matrices: MonarchMmOp, BsrMmOp
//===----------------------------------------------------------------------===//

def Tessera_MonarchMmOp : Tessera_Op<"monarch_mm", [
    Pure, DestinationStyleOpInterface, AllTypesMatch<["init", "result"]>]> {
  let summary = "activations times a Monarch matrix (two block-diagonal factors)";
  let description = [{
    The general (rectangular) Monarch product of HazyResearch/fly,
    `Y = init + X W^T` for the Monarch matrix `W` given by two block-diagonal
    factors and the permutation between them. With `w1` of shape
    `k x q x p`, `w2` of shape `l x s x r`, `k * q = l * r`:

    ```
    h[b, i*q + j]  = sum_{t < p} X[b, i*p + t] * w1[i, j, t]
    h2[b, u*r + v] = h[b, v*l + u]          (h viewed as r x l, transposed)
    o[b, u, c]     = sum_{v < r} h2[b, u*r + v] * w2[u, c, v]
    Y[b, c*l + u]  = init[b, c*l + u] + o[b, u, c]
    ```

    accumulated in f32. As fly's `MonarchLinear` does for sizes that
    `nblocks` does not divide, `X` may have fewer than `k * p` columns (it
    is padded with zeros) and `Y` fewer than `l * s` (the product is
    truncated): `X` is `B x K` with `K <= k * p`, `Y` is `B x N` with
    `N <= l * s`. The factors must have static shapes; `B` may be dynamic.

    `tessera.reference.monarch_mm` is the numpy reference,
    `tessera.monarch.project` the projection of a dense matrix onto these
    factors.

    Example (n = 4096, 64 blocks):

    ```mlir
    %y = tessera.monarch_mm %x, %w1, %w2
           : tensor<?x4096xf32>, tensor<64x64x64xf32>, tensor<64x64x64xf32>
           outs %init : tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[Tessera_ActivationFloat]>:$x,
    RankedTensorOf<[Tessera_ActivationFloat]>:$w1,
    RankedTensorOf<[Tessera_ActivationFloat]>:$w2,
    RankedTensorOf<[Tessera_ActivationFloat]>:$init
  );
  let results = (outs RankedTensorOf<[Tessera_ActivationFloat]>:$result);
  let assemblyFormat = [{
    $x `,` $w1 `,` $w2 `:` type($x) `,` type($w1) `,` type($w2)
    `outs` $init `:` type($init) attr-dict
  }];
  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
  }];
  let hasVerifier = 1;
}

def Tessera_BsrIndexTensor : 1DTensorOf<[I32, I64]>;

def Tessera_BsrMmOp : Tessera_Op<"bsr_mm", [
    Pure, DestinationStyleOpInterface, AllTypesMatch<["init", "result"]>]> {
  let summary = "activations times a block-sparse (BSR) weight matrix";
  let description = [{
    `Y = init + X W^T` for activations `X` (M x K) and a weight matrix `W`
    (N x K, the PyTorch Linear layout) in block-sparse row form with blocks
    of constant shape `R x C`: `indptr` has `N/R + 1` entries, `indices` and
    the first dimension of `blocks` (`nnz x R x C`) one per stored block,
    and

    ```
    W[i*R + r, indices[p]*C + c] = blocks[p, r, c]   for p in [indptr[i], indptr[i+1])
    ```

    (all other entries are zero; a column index stored twice in a row adds
    up). The product is accumulated in f32. `R`, `C`, `N` and `K` are
    static; `M` and `nnz` may be dynamic. The pattern (`indptr`,
    `indices`, i32 or i64) may be a run-time operand or a constant; a
    constant pattern is checked by this verifier (`indptr[0] = 0`,
    non-decreasing, `indptr[N/R] = nnz`, indices in `[0, K/C)`) and gets a
    kernel specialized to it. A run-time pattern that breaks these rules
    gives unspecified values but never an access out of bounds: row ranges
    are clamped to `[0, nnz]` and blocks with column indices out of range
    are skipped.

    Example (4096 x 4096 weights in blocks of 16 x 16):

    ```mlir
    %y = tessera.bsr_mm %x, %indptr, %indices, %blocks
           : tensor<?x4096xf32>, tensor<257xi32>, tensor<?xi32>, tensor<?x16x16xf32>
           outs %init : tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[Tessera_ActivationFloat]>:$x,
    Tessera_BsrIndexTensor:$indptr,
    Tessera_BsrIndexTensor:$indices,
    RankedTensorOf<[Tessera_ActivationFloat]>:$blocks,
    RankedTensorOf<[Tessera_ActivationFloat]>:$init
  );
  let results = (outs RankedTensorOf<[Tessera_ActivationFloat]>:$result);
  let assemblyFormat = [{
    $x `,` $indptr `,` $indices `,` $blocks `:` type($x) `,` type($indptr) `,`
    type($indices) `,` type($blocks)
    `outs` $init `:` type($init) attr-dict
  }];
  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
    int64_t getBlockRows() { return getBlocks().getType().getDimSize(1); }
    int64_t getBlockColumns() { return getBlocks().getType().getDimSize(2); }
  }];
  let hasVerifier = 1;
}

#endif // TESSERA_OPS_TD
