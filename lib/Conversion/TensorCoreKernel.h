//===- TensorCoreKernel.h - mma.sync kernel of the CUDA pipeline -*- C++
//-*-===//
//
// Y (M x N) += X (M x K) W^T on tensor cores, W (N x K) staged into shared
// memory by an MmaWeightStager. Private to lib/Conversion.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_CONVERSION_TENSORCOREKERNEL_H
#define TESSERA_LIB_CONVERSION_TENSORCOREKERNEL_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {

/// Rows of Y and of x per block, columns of Y (rows of W) per block, columns
/// of K per step, threads per block.
constexpr int64_t kMmaBlockRows = 128, kMmaBlockCols = 64, kMmaStepK = 32,
                  kMmaThreads = 256;

/// Stages the weights of a step in two phases, so that the kernel can issue
/// the global loads of the next step before the mma of the current one and
/// store them after: all kMmaThreads threads together write rows n - n0 (0
/// .. 63) and columns k - kStep (0 .. 31) of staging[buffer] (a
/// memref<2x64x32xf16>, 16-byte aligned rows of 64 bytes), rows past N
/// clamped to the last one.
class MmaWeightStager {
public:
  virtual ~MmaWeightStager();
  /// Thread `tid`'s loads from global memory for the step at column `kStep`
  /// of block column n0.
  virtual SmallVector<Value> load(OpBuilder &b, Location loc, Value n0,
                                  Value tid, Value kStep) = 0;
  /// Thread `tid`'s share of staging[buffer] from its `loaded` values for
  /// the same step (anything else it needs is recomputed or read here,
  /// rather than held in registers across the mma).
  virtual void store(OpBuilder &b, Location loc, Value n0, Value tid,
                     Value kStep, ArrayRef<Value> loaded, Value staging,
                     Value buffer) = 0;
};

/// A read-only buffer of `tensor` (bufferization.to_buffer) with any layout,
/// or a unit innermost stride with `contiguousRows` (for vector loads of a
/// row).
Value emitReadBuffer(OpBuilder &b, Location loc, Value tensor,
                     bool contiguousRows = false);

/// Marks `loop`'s dimensions as running on `processors` (block or thread
/// ids) for gpu-map-parallel-loops.
void mapParallelLoop(scf::ParallelOp loop, ArrayRef<gpu::Processor> processors);

/// Element e (0 .. 3) of lane `lane`'s D = d + A B of an emulated
/// mma.m16n8k16 (.f16 operands, f32 accumulator), from the lanes' fragments
/// in memory: `aAt(l, i)` / `bAt(l, i)` load element i of lane l's A (8) or
/// B (4) fragment. The PTX ISA's layout, inverted: element e of D is at row
/// lane/4 + 8(e/2), column 2(lane%4) + e%2; A(row, k) is held by lane
/// 4(row%8) + (k%8)/2 as element 2(row/8) + 4(k/8) + k%2, B(k, col) by lane
/// 4 col + (k%8)/2 as element 2(k/8) + k%2.
Value emitEmulatedMmaElement(OpBuilder &b, Location loc, Value lane, Value e,
                             Value d, function_ref<Value(Value, Value)> aAt,
                             function_ref<Value(Value, Value)> bAt);

/// x: M x K with a unit innermost stride (f16, bf16 or f32, rounded to
/// f16); y: M x N (f32 or f16), holding init; K a multiple of kMmaStepK.
struct TensorCoreProblem {
  Value x, y;
  int64_t n, k;
};

/// The kernel for all M rows: blocks of kMmaThreads threads (8 warps) for
/// kMmaBlockRows x kMmaBlockCols tiles of Y, the steps of kMmaStepK columns
/// staged in two shared-memory buffers (globals added to `module`): the
/// loads of step s + 1 are issued before the mma of step s and stored into
/// the other buffer after them, one barrier per step; 32 x 32 f32
/// accumulators per warp in registers over all of K, mma.sync m16n8k16 with
/// f16 operands. With `emulate`, each block's threads
/// and each warp's lanes and mma.sync run one after another (on a CPU), so
/// that the staging and the fragment layout are checked without a GPU.
void emitTensorCoreKernel(OpBuilder &b, Location loc, ModuleOp module,
                          const TensorCoreProblem &problem,
                          MmaWeightStager &weights, Value m, bool emulate);

} // namespace mlir::tessera

#endif // TESSERA_LIB_CONVERSION_TENSORCOREKERNEL_H
