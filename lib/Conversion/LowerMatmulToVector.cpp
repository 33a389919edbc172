//===- LowerMatmulToVector.cpp - Dense f32 linalg.matmul as GEMM tiles ----===//
//
// C += A * B (f32, A of ? x K, B of K x N, K and N static) on the register-
// blocked GEMM of GemmTiles.h: full blocks of 8 rows of A packed once, the
// columns of B in tiles of 256 (an scf.forall: the unit of work for threads)
// whose panels are rows of B copied in vectors; in each tile, the rows past
// the last full block of 8 one at a time, as broadcasts of A times rows of
// B. A single row of A (GEMV) takes chunks of 1024 columns instead, reading
// 8 rows of B at a time along the chunk. The columns past the last full
// tile stay a linalg.matmul on slices (marked so that this pass leaves it
// alone).
//
//===----------------------------------------------------------------------===//

#include "tessera/Passes.h"

#include "GemmTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERMATMULTOVECTOR
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Set on the linalg.matmul ops this pass leaves for the loops.
constexpr llvm::StringLiteral kRemainder = "tessera.gemm_remainder";
/// Columns of B per task of a GEMV (4 KiB of a row).
constexpr int64_t kGemvColumns = 1024;

struct MatmulToVector : public OpRewritePattern<linalg::MatmulOp> {
  MatmulToVector(MLIRContext *context, int64_t vectorRegisters)
      : OpRewritePattern(context), vectorRegisters(vectorRegisters) {}
  int64_t vectorRegisters;

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op->hasAttr(kRemainder) || !op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not a tensor matmul to tile");
    if (op.getIndexingMapsArray() !=
        linalg::MatmulOp::getDefaultIndexingMaps(op.getContext()))
      return rewriter.notifyMatchFailure(op, "transposed or broadcast operands");
    Value a = op.getInputs()[0], bMat = op.getInputs()[1], c = op.getOutputs()[0];
    auto aType = cast<RankedTensorType>(a.getType());
    auto bType = cast<RankedTensorType>(bMat.getType());
    auto cType = cast<RankedTensorType>(c.getType());
    if (!aType.getElementType().isF32() || !bType.getElementType().isF32() ||
        !cType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not f32");
    int64_t k = bType.getDimSize(0), n = bType.getDimSize(1);
    if (ShapedType::isDynamic(k) || ShapedType::isDynamic(n) || k % kGemmLanes ||
        n < kGemmColumnTile || aType.getDimSize(1) != k)
      return rewriter.notifyMatchFailure(op, "K, N not static, K % 8, N < a column tile");

    Location loc = op.getLoc();
    auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(rewriter, loc, v); };
    Value m = tensor::DimOp::create(rewriter, loc, a, 0);
    Value rowsEnd = arith::MulIOp::create(
        rewriter, loc, arith::DivUIOp::create(rewriter, loc, m, index(kGemmRows)),
        index(kGemmRows));
    Value aPacked = emitPackRowBlocks(rewriter, loc, a, k);
    int64_t nFull = n / kGemmColumnTile * kGemmColumnTile;
    GemmMicroKernel micro = gemmMicroKernel(vectorRegisters);
    Type f32 = rewriter.getF32Type();
    auto vecF32 = VectorType::get({kGemmLanes}, f32);
    bool inBounds[] = {true};

    // Column tiles of B: the full ones, in parallel.
    auto tile = [&](OpBuilder &b, Location loc, Value nTile, OpFoldResult,
                    Value cTile) -> Value {
      Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
      // Panels: rows kc.. of B's tile columns, two vectors per micro panel.
      auto fill = [&](OpBuilder &b, Location loc, Value kc, Value kcLen,
                      Value panel) -> Value {
        auto loop = scf::ForOp::create(
            b, loc, index(0), kcLen, index(1), ValueRange{panel},
            [&](OpBuilder &b, Location loc, Value kk, ValueRange args) {
              Value row = arith::AddIOp::create(b, loc, kc, kk);
              Value p = args[0];
              for (int64_t j = 0; j < kGemmColumnTile; j += kGemmLanes) {
                Value col = arith::AddIOp::create(b, loc, nTile,
                                                  arith::ConstantIndexOp::create(b, loc, j));
                Value v = vector::TransferReadOp::create(b, loc, vecF32, bMat,
                                                         ValueRange{row, col}, zeroF,
                                                         ArrayRef<bool>(inBounds));
                Value which = arith::ConstantIndexOp::create(b, loc, j / kPanelColumns);
                Value lane = arith::ConstantIndexOp::create(b, loc, j % kPanelColumns);
                p = vector::TransferWriteOp::create(b, loc, v, p,
                                                    ValueRange{which, kk, lane},
                                                    ArrayRef<bool>(inBounds))
                        .getResult();
              }
              scf::YieldOp::create(b, loc, p);
            });
        return loop.getResult(0);
      };
      cTile = emitGemmColumnTile(b, loc, aPacked, rowsEnd, k, micro, cTile, fill);
      // The rows past the last full block (all of them for M < 8: GEMV),
      // one at a time, in strips of `strip` vectors of the tile's columns
      // whose sums stay in registers over all of K: per k, a broadcast of
      // A[m, k] times `strip` vectors of B's row k (contiguous). B streams
      // once per such row; C is read and written once per strip.
      int64_t strip = vectorRegisters >= 32 ? 16 : 8;
      auto rowLoop = scf::ForOp::create(
          b, loc, rowsEnd, m, index(1), ValueRange{cTile},
          [&](OpBuilder &b, Location loc, Value row, ValueRange rowArgs) {
            Value y = rowArgs[0];
            for (int64_t s0 = 0; s0 < kGemmColumnTile; s0 += strip * kGemmLanes) {
              SmallVector<Value> acc;
              for (int64_t j = 0; j < strip; ++j)
                acc.push_back(vector::TransferReadOp::create(
                    b, loc, vecF32, y,
                    ValueRange{row, index(s0 + j * kGemmLanes)}, zeroF,
                    ArrayRef<bool>(inBounds)));
              auto kLoop = scf::ForOp::create(
                  b, loc, index(0), index(k), index(1), acc,
                  [&](OpBuilder &b, Location loc, Value kk, ValueRange sums) {
                    Value av = vector::BroadcastOp::create(
                        b, loc, vecF32,
                        tensor::ExtractOp::create(b, loc, a, ValueRange{row, kk}));
                    SmallVector<Value> next;
                    for (int64_t j = 0; j < strip; ++j) {
                      Value col = arith::AddIOp::create(
                          b, loc, nTile,
                          arith::ConstantIndexOp::create(b, loc, s0 + j * kGemmLanes));
                      Value bv = vector::TransferReadOp::create(
                          b, loc, vecF32, bMat, ValueRange{kk, col}, zeroF,
                          ArrayRef<bool>(inBounds));
                      next.push_back(vector::FMAOp::create(b, loc, av, bv, sums[j]));
                    }
                    scf::YieldOp::create(b, loc, next);
                  });
              for (int64_t j = 0; j < strip; ++j)
                y = vector::TransferWriteOp::create(
                        b, loc, kLoop.getResult(j), y,
                        ValueRange{row, index(s0 + j * kGemmLanes)},
                        ArrayRef<bool>(inBounds))
                        .getResult();
            }
            scf::YieldOp::create(b, loc, y);
          });
      return rowLoop.getResult(0);
    };
    // One row of A (GEMV): columns in chunks of kGemvColumns (the threads'
    // unit), each chunk reading a 4 KiB run of 8 rows of B at a time, in
    // order: per 8 columns, y += sum_{i < 8} A[k + i] * B[k + i, cols], y in
    // L1. B streams in page-long runs; the GEMM tiles' rows past the last
    // block of 8 read B in 1 KiB pieces of rows 16-44 KiB apart, which the
    // prefetchers do not follow.
    auto gemvChunk = [&](OpBuilder &b, Location loc, Value nTile, OpFoldResult columnCount,
                         Value yTile) -> Value {
      Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
      Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
      Value columns = getValueOrCreateConstantIndexOp(b, loc, columnCount);
      return emitTensorLoop(
          b, loc, c0, index(k), b.getIndexAttr(kGemmLanes), yTile,
          [&](OpBuilder &b, Location loc, Value kk, Value y) -> Value {
            SmallVector<Value> rowsK, av;
            for (int64_t i = 0; i < kGemmLanes; ++i) {
              rowsK.push_back(i ? Value(arith::AddIOp::create(
                                      b, loc, kk, arith::ConstantIndexOp::create(b, loc, i)))
                                : kk);
              av.push_back(vector::BroadcastOp::create(
                  b, loc, vecF32, tensor::ExtractOp::create(b, loc, a, ValueRange{c0, rowsK[i]})));
            }
            return emitTensorLoop(
                b, loc, c0, columns, b.getIndexAttr(kGemmLanes), y,
                [&](OpBuilder &b, Location loc, Value j, Value y) -> Value {
                  Value col = arith::AddIOp::create(b, loc, nTile, j);
                  // Two chains of 4 FMAs, added to y.
                  Value sums[2];
                  for (int64_t i = 0; i < kGemmLanes; ++i) {
                    Value bv = vector::TransferReadOp::create(b, loc, vecF32, bMat,
                                                              ValueRange{rowsK[i], col}, zeroF,
                                                              ArrayRef<bool>(inBounds));
                    Value &sum = sums[i % 2];
                    sum = i < 2 ? Value(arith::MulFOp::create(b, loc, av[i], bv))
                                : Value(vector::FMAOp::create(b, loc, av[i], bv, sum));
                  }
                  Value old = vector::TransferReadOp::create(b, loc, vecF32, y, ValueRange{c0, j},
                                                             zeroF, ArrayRef<bool>(inBounds));
                  Value sum = arith::AddFOp::create(
                      b, loc, old, arith::AddFOp::create(b, loc, sums[0], sums[1]));
                  return vector::TransferWriteOp::create(b, loc, sum, y, ValueRange{c0, j},
                                                         ArrayRef<bool>(inBounds))
                      .getResult();
                });
          });
    };
    Value single = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, m, index(1));
    Value result =
        scf::IfOp::create(
            rewriter, loc, single,
            [&](OpBuilder &b, Location loc) {
              scf::YieldOp::create(
                  b, loc, emitColumnTiles(b, loc, c, m, nFull, gemvChunk, kGemvColumns));
            },
            [&](OpBuilder &b, Location loc) {
              scf::YieldOp::create(b, loc, emitColumnTiles(b, loc, c, m, nFull, tile));
            })
            .getResult(0);

    // The columns past the last full tile, as a matmul on slices.
    if (nFull < n) {
      int64_t colBegin = nFull, colCount = n - nFull;
      SmallVector<OpFoldResult> one(2, rewriter.getIndexAttr(1));
      Value bSlice = tensor::ExtractSliceOp::create(
          rewriter, loc, bMat,
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0), rewriter.getIndexAttr(colBegin)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(k), rewriter.getIndexAttr(colCount)},
          one);
      SmallVector<OpFoldResult> cOffsets = {rewriter.getIndexAttr(0),
                                            rewriter.getIndexAttr(colBegin)};
      SmallVector<OpFoldResult> cSizes = {m, rewriter.getIndexAttr(colCount)};
      Value cSlice =
          tensor::ExtractSliceOp::create(rewriter, loc, result, cOffsets, cSizes, one);
      auto matmul = linalg::MatmulOp::create(rewriter, loc, ValueRange{a, bSlice},
                                             ValueRange{cSlice});
      matmul->setAttr(kRemainder, rewriter.getUnitAttr());
      result = tensor::InsertSliceOp::create(rewriter, loc, matmul.getResult(0), result,
                                             cOffsets, cSizes, one);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TesseraLowerMatmulToVectorPass
    : public mlir::tessera::impl::TesseraLowerMatmulToVectorBase<
          TesseraLowerMatmulToVectorPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MatmulToVector>(&getContext(), vectorRegisters);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
    getOperation()->walk([](linalg::MatmulOp op) { op->removeAttr(kRemainder); });
  }
};

} // namespace
