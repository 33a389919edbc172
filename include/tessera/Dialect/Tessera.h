//===- Tessera.h - Tessera dialect ------------------------------*- C++ -*-===//

#ifndef TESSERA_DIALECT_TESSERA_H
#define TESSERA_DIALECT_TESSERA_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "tessera/Support/BitPacking.h"

namespace mlir::tessera {

/// How `tessera.mpmm` applies its zero points (see the op documentation).
enum class ZeroPointMode { None, Int, Float };

class FloatFormat;

/// True for builtin integers of 1 to 8 bits with explicit signedness.
bool isLowBitIntegerType(Type type);

/// True for the float formats of 3 to 8 bits: !tessera.fNeXmY and the
/// builtin f4E2M1FN, f6E3M2FN, f6E2M3FN, f8E4M3FN and f8E5M2.
bool isLowBitFloatType(Type type);

/// The format of a low-bit float type; fails for any other type.
FailureOr<FloatFormat> getFloatFormat(Type type);

/// Low-bit integer or float: an element type stored as b-bit codes.
bool isLowBitType(Type type);

/// Bits per code of a low-bit type.
unsigned getLowBitWidth(Type type);

/// The packed storage type of a statically shaped low-bit tensor:
/// tensor<ceil(n*b/8) x i8> in the canonical layout, or the size `layout`
/// needs.
RankedTensorType getPackedStorageType(RankedTensorType logicalType,
                                      const PackedLayout &layout = {});

/// The storage layout in which the LUT vector kernel reads `weights` (an
/// N x K low-bit tensor) with int8 tables, groups of `groupSize` and
/// `lanes`-byte shuffles, or null where the kernel does not apply (no
/// shuffles, N not a multiple of lanes, K or the group not multiples of 8,
/// groups too long for exact i16 sums). Bit-plane tables: bit planes in
/// tiles of lanes x 8 (groups up to 1024), or, with `bytePermute` (64-byte
/// permutes and byte dot products: AVX512-VBMI and -VNNI, lanes = 64) and K
/// and the group multiples of 32, in tiles of 64 x 32. Per-activation
/// (codebook) tables, `direct`: 4-bit codes densely in tiles of lanes x 2
/// (groups up to 256). The one definition used by the strategy choice, the
/// layout assignment and the kernel.
class LayoutAttr;
LayoutAttr getLutKernelLayout(RankedTensorType weights, int64_t groupSize,
                              bool direct, int64_t lanes,
                              bool bytePermute = false);

/// The storage layout in which the dequantize vector kernel reads `weights`
/// (an N x K low-bit tensor) with groups of `groupSize`, or null where it
/// reads the canonical storage: integer codes of b = 1, 2, 4 or 8 bits in
/// `#tessera.layout<tile = [8, 32 / b]>` (columns interleaved: a tile is one
/// 32-byte vector whose i32 lane r holds 32 / b consecutive codes of row r),
/// of 3 bits in `#tessera.layout<tile = [8, 32], bit_planes>`
/// (b such vectors, plane p's lane r holding bit p of 32 codes of row r),
/// where N is a multiple of 8 and K and the group of the codes per lane and
/// of 8. With `byteTiles` (a target with AVX512-VBMI and AVX512-VNNI, whose
/// kernel multiplies bytes), codes of 5, 6 and 7 bits in
/// `#tessera.layout<tile = [16, 4]>` (a tile of 16 rows x 4 codes is 8b
/// bytes, the codes of rows 2q and 2q + 1 in bytes [bq, bq + b): one 64-bit
/// word each for vpmultishiftqb), N a multiple of 16, groups up to 16384
/// codes. The one definition used by the layout assignment and the kernel.
LayoutAttr getDequantizeKernelLayout(RankedTensorType weights, int64_t groupSize,
                                     bool byteTiles = false);

/// The storage layout in which the dequantize vector kernel reads the group
/// terms `terms` (an N x G matrix of scales or zero points, one per column
/// and group, float or low-bit) of weights in getDequantizeKernelLayout's
/// layout, or null where it reads them canonical:
/// `#tessera.layout<tile = [64, 1]>` where N is a multiple of 64 (a group's
/// terms of 64 consecutive columns, the span the row kernels take at once,
/// are one run). Low-bit terms are packed in it by tessera.pack, float ones
/// by linalg.pack (tiles of 64 rows: N/64 x G x 64). The one definition
/// used by the layout assignment and the kernel.
LayoutAttr getGroupTermsKernelLayout(RankedTensorType terms);

/// The packed storage (an i8 tensor of getPackedStorageType's type) of the
/// dense low-bit constant `codes`, in `layout`: how constant weights are
/// packed at compile time.
DenseElementsAttr packLowBitConstant(DenseElementsAttr codes,
                                     const PackedLayout &layout = {});

} // namespace mlir::tessera

#include "tessera/Dialect/TesseraDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "tessera/Dialect/TesseraTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "tessera/Dialect/TesseraAttrs.h.inc"

#define GET_OP_CLASSES
#include "tessera/Dialect/TesseraOps.h.inc"

#endif // TESSERA_DIALECT_TESSERA_H
