//===- TesseraOps.td - Tessera operations ------------------*- tablegen -*-===//

#ifndef TESSERA_OPS_TD
#define TESSERA_OPS_TD

include "TesseraDialect.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Tessera_LowBitInt : Type<
    CPred<"::mlir::tessera::isLowBitIntegerType($_self)">,
    "integer of 1 to 8 bits with explicit signedness (siN or uiN)">;

def Tessera_ActivationFloat : AnyTypeOf<[F32, F16, BF16]>;

def Tessera_LowBitTensor : RankedTensorOf<[Tessera_LowBitInt]>;
def Tessera_PackedTensor : 1DTensorOf<[I8]>;

//===----------------------------------------------------------------------===//
// MpmmOp
//===----------------------------------------------------------------------===//

def Tessera_MpmmOp : Tessera_Op<"mpmm", [
    Pure, AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
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

    and `v(q)` is the integer value of the code `q` (`siN` codes are signed,
    `uiN` codes unsigned), or `codebook[q]` when a codebook of `2^b` values
    is given (the weights must then be unsigned). The integer zero point is
    subtracted exactly (as an integer) before scaling; scales, float offsets
    and codebook values are converted to f32 first. `s` and `z` have shape
    `N x K/G`. The accumulation starts from `init`, which the result
    replaces (destination-passing style); the result has `init`'s type, and
    f16/bf16 results are rounded once from the f32 sum.

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
    ConfinedAttr<I64Attr, [IntPositive]>:$group_size
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
    Reads a logical low-bit tensor from its canonical packed storage: the
    result, flattened in row-major order, has element `i` at bits
    `[i*b, (i+1)*b)` of `storage`, least significant bit first. `storage`
    has exactly `ceil(n*b/8)` bytes for a result of `n` elements; the result
    shape is static. Bits of the last byte beyond `n*b` are ignored.

    Example:

    ```mlir
    %w = tessera.unpack %bytes : tensor<6xi8> -> tensor<2x8xui3>
    ```
  }];
  let arguments = (ins Tessera_PackedTensor:$storage);
  let results = (outs Tessera_LowBitTensor:$result);
  let assemblyFormat =
      "$storage attr-dict `:` type($storage) `->` type($result)";
  let hasVerifier = 1;
}

def Tessera_PackOp : Tessera_Op<"pack", [Pure]> {
  let summary = "pack a logical low-bit tensor into its storage";
  let description = [{
    The inverse of `tessera.unpack`: writes the codes of a statically shaped
    low-bit tensor into its canonical packed storage of `ceil(n*b/8)` bytes
    (row-major, element `i` at bits `[i*b, (i+1)*b)`, least significant bit
    first). The unused high bits of the last byte are zero.

    Example:

    ```mlir
    %bytes = tessera.pack %w : tensor<2x8xui3> -> tensor<6xi8>
    ```
  }];
  let arguments = (ins Tessera_LowBitTensor:$codes);
  let results = (outs Tessera_PackedTensor:$result);
  let assemblyFormat = "$codes attr-dict `:` type($codes) `->` type($result)";
  let hasVerifier = 1;
}

#endif // TESSERA_OPS_TD
