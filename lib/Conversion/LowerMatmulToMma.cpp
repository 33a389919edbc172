//===- LowerMatmulToMma.cpp - f16 linalg.matmul on tensor cores -----------===//
//
// For the CUDA pipeline: a linalg.matmul of f16 operands (A: M x K, B: K x
// N, static K and N, K a multiple of 32) with an f32 or f16 result runs on
// the tensor-core kernel (TensorCoreKernel.cpp) when M is at least
// `min-rows` (a run-time choice; smaller M runs the linalg.matmul, on the
// same buffers, through the reference path). The kernel multiplies by W = B^T
// (N x K): a block's threads stage each step of 32 rows of B transposed into
// shared memory, thread tid reading the 8 values B[kStep + tid / 8, n0 + 8 (tid
// % 8) ..
// + 7] (consecutive threads read consecutive columns: coalesced) and
// storing them as column tid / 8 of 8 staged rows. Products of f16 values
// are exact in f32 and the accumulation is f32, as on the CPU up to the
// order of the sums.
//
//===----------------------------------------------------------------------===//

#include "TensorCoreKernel.h"
#include "tessera/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERMATMULTOMMA
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Stages B (K x N, f16) transposed: staged row n - n0 holds column n.
class TransposedWeightStager final : public MmaWeightStager {
public:
  TransposedWeightStager(Value b, int64_t n) : bBuffer(b), n(n) {}

  SmallVector<Value> load(OpBuilder &b, Location loc, Value n0, Value tid,
                          Value kStep) override {
    Value kRow = arith::AddIOp::create(b, loc, kStep, k(b, loc, tid));
    SmallVector<Value> loaded;
    for (int64_t i = 0; i < kPiece; ++i) {
      Value inB = arith::MinUIOp::create(
          b, loc, arith::AddIOp::create(b, loc, n0, column(b, loc, tid, i)),
          index(b, loc, n - 1));
      loaded.push_back(
          memref::LoadOp::create(b, loc, bBuffer, ValueRange{kRow, inB}));
    }
    return loaded;
  }

  void store(OpBuilder &b, Location loc, Value, Value tid, Value,
             ArrayRef<Value> loaded, Value staging, Value buffer) override {
    for (int64_t i = 0; i < kPiece; ++i)
      memref::StoreOp::create(
          b, loc, loaded[i], staging,
          ValueRange{buffer, column(b, loc, tid, i), k(b, loc, tid)});
  }

private:
  static constexpr int64_t kPiece = 8; // columns of B per thread
  static constexpr int64_t kPieces = kMmaBlockCols / kPiece;
  static_assert(kMmaThreads == kPieces * kMmaStepK,
                "one piece of a row of B per thread and step");

  static Value index(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  /// The row of B (in the step) thread `tid` copies.
  static Value k(OpBuilder &b, Location loc, Value tid) {
    return arith::DivUIOp::create(b, loc, tid, index(b, loc, kPieces));
  }
  /// Column i of thread `tid`'s piece (in the block).
  static Value column(OpBuilder &b, Location loc, Value tid, int64_t i) {
    return arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(
            b, loc, arith::RemUIOp::create(b, loc, tid, index(b, loc, kPieces)),
            index(b, loc, kPiece)),
        index(b, loc, i));
  }

  Value bBuffer;
  int64_t n;
};

LogicalResult lowerMatmul(linalg::MatmulOp op, ModuleOp module, int64_t minRows,
                          bool emulate) {
  if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps())
    return failure();
  auto aType = cast<RankedTensorType>(op.getInputs()[0].getType());
  auto bType = cast<RankedTensorType>(op.getInputs()[1].getType());
  auto cType = cast<RankedTensorType>(op.getOutputs()[0].getType());
  int64_t k = bType.getDimSize(0), n = bType.getDimSize(1);
  if (!aType.getElementType().isF16() || !bType.getElementType().isF16() ||
      !(cType.getElementType().isF32() || cType.getElementType().isF16()) ||
      ShapedType::isDynamic(k) || ShapedType::isDynamic(n) || k % kMmaStepK ||
      aType.isDynamicDim(1) || cType.isDynamicDim(1))
    return failure();

  OpBuilder b(op);
  Location loc = op.getLoc();
  Value a = op.getInputs()[0], init = op.getOutputs()[0];
  Value m = tensor::DimOp::create(b, loc, a, 0);
  // Y starts as a copy of init (allocated here, at the level of the op, as
  // the CUDA pipeline wants its buffers); either kernel adds into it.
  auto yType = MemRefType::get(cType.getShape(), cType.getElementType());
  SmallVector<Value> sizes;
  if (cType.isDynamicDim(0))
    sizes.push_back(m);
  Value y = memref::AllocOp::create(b, loc, yType, sizes);
  memref::CopyOp::create(b, loc, emitReadBuffer(b, loc, init), y);
  Value aBuffer = emitReadBuffer(b, loc, a, /*contiguousRows=*/true);
  Value bBuffer = emitReadBuffer(b, loc, op.getInputs()[1]);
  Value many = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::uge, m,
      arith::ConstantIndexOp::create(b, loc, std::max<int64_t>(1, minRows)));
  scf::IfOp::create(
      b, loc, many,
      [&](OpBuilder &b, Location loc) {
        TransposedWeightStager weights(bBuffer, n);
        emitTensorCoreKernel(b, loc, module,
                             TensorCoreProblem{aBuffer, y, n, k}, weights, m,
                             emulate);
        scf::YieldOp::create(b, loc);
      },
      [&](OpBuilder &b, Location loc) {
        // The reference path, on the same buffers.
        linalg::MatmulOp::create(b, loc, ValueRange{aBuffer, bBuffer},
                                 ValueRange{y});
        scf::YieldOp::create(b, loc);
      });
  op->replaceAllUsesWith(ValueRange{bufferization::ToTensorOp::create(
      b, loc, cType, y, /*restrict=*/true, /*writable=*/true)});
  op.erase();
  return success();
}

struct LowerMatmulToMmaPass
    : tessera::impl::TesseraLowerMatmulToMmaBase<LowerMatmulToMmaPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::MatmulOp> ops;
    module.walk([&](linalg::MatmulOp op) { ops.push_back(op); });
    for (linalg::MatmulOp op : ops) // others stay for the reference path
      (void)lowerMatmul(op, module, minRows, emulateMma);
  }
};

} // namespace
