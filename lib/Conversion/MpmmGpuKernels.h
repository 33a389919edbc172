//===- MpmmGpuKernels.h - mpmm kernels of the CUDA pipeline ------*- C++
//-*-===//
//
// Shared by tessera-lower-mpmm-to-parallel-loops' two kernels (the fused
// split-K kernel on CUDA cores and the tensor-core kernel): the operands as
// buffers, and the IR that decodes weight codes and applies group scales
// and zero points. Private to lib/Conversion.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_CONVERSION_MPMMGPUKERNELS_H
#define TESSERA_LIB_CONVERSION_MPMMGPUKERNELS_H

#include "tessera/Dialect/Tessera.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {

/// Codes decoded from one run of b bytes.
constexpr int64_t kMpmmRunCodes = 8;

/// An mpmm's operands as buffers (x has a unit innermost stride), with what
/// the kernels need to know about them.
struct MpmmGpuOperands {
  Value x, weights, scales, zeros, codebook, table, y;
  unsigned bits = 0;
  bool signedCodes = false, signedZeros = false;
  ZeroPointMode zeroMode = ZeroPointMode::None;
  int64_t n = 0, k = 0, group = 0;
};

/// Decodes the 8 codes of weight row `row` at k0 .. k0+7 (k0 a multiple of
/// 8) and calls `use(l, v)` with the value v(q) of code l as f32 (the
/// integer code, or its entry of the decode table for float formats and
/// codebooks) as soon as it is decoded, so that consumers interleave with
/// the decoding (fewer live registers).
void emitDecodeRun(OpBuilder &b, Location loc, const MpmmGpuOperands &o,
                   Value row, Value k0, function_ref<void(int64_t, Value)> use);

/// The scale of (row, group) as f32 and its zero point (null without one):
/// an integer zero point as its f32 value, a float offset as f32.
std::pair<Value, Value> emitGroupScaleZero(OpBuilder &b, Location loc,
                                           const MpmmGpuOperands &o, Value row,
                                           Value group);

/// The dequantized weight of value v: s * (v - z), s * v + z or s * v.
Value emitDequantize(OpBuilder &b, Location loc, ZeroPointMode mode, Value v,
                     Value s, Value z);

/// Whether the warp kernel (MpmmWarpKernel.cpp) takes this mpmm: K and the
/// group size multiples of 32, weights in a buffer with a unit stride.
bool warpKernelFits(const MpmmGpuOperands &o);

/// The warp kernel for all M rows of mpmm (Y already holds init), `xRows`
/// rows of x per warp; with `emulate`, without mapping or shuffles (each
/// lane adds its own sums into Y), to run on a CPU.
void emitWarpNest(OpBuilder &b, Location loc, const MpmmGpuOperands &o, Value m,
                  int64_t xRows, bool emulate);

/// Whether the tensor-core kernel for few rows of x (MpmmSkinnyMmaKernel.cpp)
/// takes this mpmm: integer codes of 1, 2, 4 or 8 bits, no float offsets,
/// K and the group multiples of a chunk of 32 codes or more that fills a
/// lane's words.
bool skinnyMmaKernelFits(const MpmmGpuOperands &o);

/// That kernel for all M rows of mpmm (Y already holds init), 8 rows of x
/// per block; with `emulate`, each warp's lanes and mma.sync one after
/// another, to run on a CPU.
void emitSkinnyMmaNest(OpBuilder &b, Location loc, const MpmmGpuOperands &o,
                       Value m, bool emulate);

/// Whether the tensor-core kernel takes this mpmm: K steps of 32 codes that
/// stay inside a group.
bool mmaKernelFits(const MpmmGpuOperands &o);

/// The tensor-core kernel (TensorCoreKernel.h) for all M rows of mpmm (Y
/// already holds init), the weights decoded and dequantized by the threads
/// of each block as they are staged.
void emitMmaNest(OpBuilder &b, Location loc, ModuleOp module,
                 const MpmmGpuOperands &o, Value m, bool emulate);

} // namespace mlir::tessera

#endif // TESSERA_LIB_CONVERSION_MPMMGPUKERNELS_H
