//===- TesseraDialect.td - Tessera dialect definition ------*- tablegen -*-===//
//
// The `tessera` dialect: low-bit and structured tensor computation.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_DIALECT_TD
#define TESSERA_DIALECT_TD

include "mlir/IR/OpBase.td"

def Tessera_Dialect : Dialect {
  let name = "tessera";
  let cppNamespace = "::mlir::tessera";
  let summary = "Low-bit and structured tensor computation";
  let description = [{
    The `tessera` dialect holds the operations that make low-bit and structured
    neural networks fast: mixed-precision matrix multiplication of low-bit
    weights with f32/f16/bf16 activations (`tessera.mpmm`), and the conversions
    between logical low-bit tensors and their packed storage
    (`tessera.pack`, `tessera.unpack`).

    **Element types.** A low-bit integer weight is a tensor whose element type
    is a builtin integer of 1 to 8 bits with explicit signedness: `ui1` ..
    `ui8` (codes 0 .. 2^b - 1) or `si1` .. `si8` (two's complement,
    -2^(b-1) .. 2^(b-1) - 1). Signless integers are rejected for weights
    because their signedness is ambiguous.

    **Canonical storage.** A low-bit tensor is logical. At a function
    boundary, and wherever it is materialized in memory, it is stored in the
    canonical packed layout: the tensor is flattened in row-major order and
    element `i` occupies bits `[i*b, (i+1)*b)` of a byte array, least
    significant bit first, so that a 3-bit code may straddle two bytes. The
    storage of a tensor with `n` elements is `ceil(n*b/8)` bytes (`i8`); the
    unused high bits of the last byte are zero.
  }];
  let useDefaultTypePrinterParser = 0;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    Type parseType(DialectAsmParser &parser) const override;
    void printType(Type type, DialectAsmPrinter &printer) const override;
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

def Tessera_LowBitFloatType : TypeDef<Tessera_Dialect, "LowBitFloat"> {
  let summary = "a floating-point format of 3 to 8 bits (sign, E, M)";
  let description = [{
    `!tessera.f<bits>e<E>m<M>`, for example `!tessera.f4e2m1`: a sign bit,
    `E >= 1` exponent bits and `M >= 1` mantissa bits, `3 <= 1+E+M <= 8`,
    exponent bias `2^(E-1) - 1`, with subnormals. Formats with `E = 5` have
    IEEE-style inf and NaN in the all-ones exponent; `e4m3` is OCP E4M3FN
    (only `S.1111.111` is NaN, the largest value is 448); all other formats
    have no inf or NaN: the all-ones exponent holds normal numbers. Encoding
    from f32 rounds to nearest, ties to even, and saturates; decoding is
    exact. Values of this type are codes: they are stored packed like
    integer codes and decoded by `tessera.mpmm` and `tessera.dequantize`.
    docs/types.md tabulates every format.
  }];
  let typeName = "tessera.float";
  let parameters = (ins "unsigned":$exponentBits, "unsigned":$mantissaBits);
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    unsigned getWidth() const { return 1 + getExponentBits() + getMantissaBits(); }
  }];
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Tessera_LayoutAttr : AttrDef<Tessera_Dialect, "Layout"> {
  let mnemonic = "layout";
  let summary = "storage layout of a low-bit tensor";
  let description = [{
    How `tessera.pack` / `tessera.unpack` arrange codes in bytes. Two
    independent, composable choices:

    - `tile = [t0, t1, ...]`: elements are enumerated tile by tile (tiles in
      row-major order over the tile grid, row-major inside a tile). Each tile
      size must divide its dimension. Without `tile`, the whole tensor is one
      tile (plain row-major order).
    - `bit_planes`: each tile is stored as `b` planes; plane `p` holds
      bit `p` of every code of the tile, one bit per element in enumeration
      order, least significant bit first, each plane starting on a byte
      (`b * ceil(T/8)` bytes per tile of `T` elements). This is the layout
      LUT kernels read. Otherwise codes are packed densely in enumeration
      order, element `e` at bits `[e*b, (e+1)*b)`.

    No layout (or `#tessera.layout<>`) is the canonical storage. Tiles of
    8 rows x 32 / b codes of b bits are SIMD-interleaved: a tile is one
    32-byte vector whose i32 lane r holds the codes of row r (the layout the
    dequantize kernel reads); so are tiles of 8 rows x 32 codes in bit
    planes, b such vectors (the dequantize kernel's layout for 3 bits).
    Later layouts (MMA fragments) add parameters here.

    Examples: `#tessera.layout<tile = [4, 32], bit_planes>`,
    `#tessera.layout<tile = [8, 8]>` (4-bit codes interleaved by 8 rows).

    On a function argument or result of another element type (float
    scales), `tessera.layout` takes tiles only: the tensor crosses the
    boundary as upstream `linalg.pack` tiles of the dimensions whose tile
    is larger than 1, which enumerate its elements in the same order
    (`#tessera.layout<tile = [64, 1]>`: a group's scales of 64 columns
    side by side, N/64 x G x 64).
  }];
  let parameters = (ins OptionalArrayRefParameter<"int64_t">:$tile,
                        DefaultValuedParameter<"bool", "false">:$bit_planes);
  let hasCustomAssemblyFormat = 1;
  let extraClassDeclaration = [{
    /// The Support-level description of this layout.
    ::mlir::tessera::PackedLayout getPackedLayout() const;
  }];
}

class Tessera_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tessera_Dialect, mnemonic, traits>;

#endif // TESSERA_DIALECT_TD
