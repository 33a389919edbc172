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
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

class Tessera_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tessera_Dialect, mnemonic, traits>;

#endif // TESSERA_DIALECT_TD
