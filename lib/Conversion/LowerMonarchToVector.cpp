//===- LowerMonarchToVector.cpp - Vector kernel of tessera.monarch_mm -----===//
//
// f32 monarch_mm as two block-diagonal products over X^T, vectorized over
// the batch (see StructuredTiles.h):
//
//   xt = X^T                    (k*p x B', zero rows past K, zero columns past B)
//   h[i*q + j, :] = sum_t w1[i, j, t] * xt[i*p + t, :]    scf.forall over blocks i
//   yt[c*l + u, :] = sum_v w2[u, c, v] * h[v*l + u, :]    scf.forall over blocks u
//   Y = init + yt^T             (the first N rows of yt)
//
// The permutation between the factors is only indexing: block u of the
// second product reads rows v*l + u of h (stored permuted when q = l, so
// that these rows are contiguous) and writes rows c*l + u of yt (a strided
// slice), so nothing is transposed but X and the result. Each
// product is a loop of register tiles (rows x 8-lane vectors of the batch)
// whose every step broadcasts one weight per row and reads one row of its
// input: the weights of a block (w1[i] or w2[u]) and the rows it reads stay
// in L1/L2.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "GemmTiles.h"
#include "StructuredTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERMONARCHTOVECTOR
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

// Rows of X per group (see below): 4 panels of 32 lanes.
constexpr int64_t kGroupRows = 128;

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// One block-diagonal product: for each block `blk` of `w` (blocks x rows x
/// depth), out[:, outBase(blk) + row * outStride, :] = sum_{t < depth}
/// w[blk, row, t] * in[:, inRowOf(blk, t), :], in and out in panels (`lanes`
/// of them used: M rounded up to 8). Returns the new out.
Value emitBlockProduct(OpBuilder &b, Location loc, Value w, Value in, Value out, Value lanes,
                       BroadcastTile tile,
                       function_ref<Value(OpBuilder &, Location, Value blk, Value t)> inRowOf,
                       function_ref<Value(OpBuilder &, Location, Value blk)> outBase,
                       int64_t outStride) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(w.getType()).getShape();
  int64_t blocks = shape[0], rows = shape[1], depth = shape[2];
  Value panels = tensor::DimOp::create(b, loc, out, 0);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(blocks)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, ValueRange{out}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value blk = forall.getInductionVar(0);
  Value shared = forall.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), outBase(b, loc, blk),
                                       b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {panels, b.getIndexAttr(rows),
                                     b.getIndexAttr(tile.width())};
  SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(outStride),
                                       b.getIndexAttr(1)};
  Value outTile = tensor::ExtractSliceOp::create(b, loc, shared, offsets, sizes, strides);
  outTile = emitTiles(
      b, loc, outTile, rows, lanes, tile,
      [&](OpBuilder &b, Location loc, Value outTile, Value row0, LanePosition at,
          BroadcastTile shape) -> Value {
        auto loop = scf::ForOp::create(
            b, loc, cIndex(b, loc, 0), cIndex(b, loc, depth), cIndex(b, loc, 1),
            emitZeroTile(b, loc, shape),
            [&](OpBuilder &b, Location loc, Value t, ValueRange accIn) {
              SmallVector<Value> acc(accIn.begin(), accIn.end()), a;
              for (int64_t r = 0; r < shape.rows; ++r)
                a.push_back(tensor::ExtractOp::create(
                    b, loc, w,
                    ValueRange{blk, arith::AddIOp::create(b, loc, row0, cIndex(b, loc, r)), t}));
              emitBroadcastStep(b, loc, acc, a, in, inRowOf(b, loc, blk, t), at, shape.vectors);
              scf::YieldOp::create(b, loc, acc);
            });
        return emitStoreTile(b, loc, SmallVector<Value>(loop.getResults()), outTile, row0, at,
                             shape.vectors);
      });
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, outTile, shared, offsets, sizes, strides);
  return forall.getResult(0);
}

struct MonarchToVector : public OpRewritePattern<MonarchMmOp> {
  MonarchToVector(MLIRContext *context, int64_t vectorRegisters)
      : OpRewritePattern(context), vectorRegisters(vectorRegisters) {}
  int64_t vectorRegisters;

  LogicalResult matchAndRewrite(MonarchMmOp op, PatternRewriter &rewriter) const override {
    if (!llvm::all_of(op->getOperandTypes(), [](Type t) {
          return cast<RankedTensorType>(t).getElementType().isF32();
        }))
      return rewriter.notifyMatchFailure(op, "not f32");
    Location loc = op.getLoc();
    ArrayRef<int64_t> w1Shape = op.getW1().getType().getShape(),
                      w2Shape = op.getW2().getType().getShape();
    int64_t k = w1Shape[0], q = w1Shape[1], p = w1Shape[2];
    int64_t l = w2Shape[0], s = w2Shape[1], r = w2Shape[2];
    int64_t n = op.getInit().getType().getDimSize(1);
      BroadcastTile tile = broadcastTileFor(vectorRegisters);
    ResultDestination dest = getResultDestination(op.getInit());
    Value x = op.getX();
    Value m = tensor::DimOp::create(rewriter, loc, x, 0);
    int64_t kIn = op.getX().getType().getDimSize(1);

    // Groups of kGroupRows rows of X at a time, so that the transposed
    // operands and intermediates of a group (2 MiB each) stay in the last-
    // level cache between the steps.
    auto group = [&](OpBuilder &b, Location loc, Value g0, Value result) -> Value {
      Value rows = arith::MinUIOp::create(b, loc, cIndex(b, loc, kGroupRows),
                                          arith::SubIOp::create(b, loc, m, g0));
      SmallVector<OpFoldResult> ones(2, b.getIndexAttr(1));
      SmallVector<OpFoldResult> offsets = {g0, b.getIndexAttr(0)};
      Value xs = tensor::ExtractSliceOp::create(
          b, loc, x, offsets, ArrayRef<OpFoldResult>{rows, b.getIndexAttr(kIn)}, ones);
      SmallVector<OpFoldResult> outSizes = {rows, b.getIndexAttr(n)};
      Value ys = tensor::ExtractSliceOp::create(b, loc, result, offsets, outSizes, ones);
      Value xt = emitTransposeIn(b, loc, xs, roundUpToLanes(k * p), tile.width());
      Value lanes = emitPaddedRows(b, loc, xs);
      Value panels = tensor::DimOp::create(b, loc, xt, 0);
      auto scratch = [&](int64_t rows) -> Value {
        return tensor::EmptyOp::create(
            b, loc, ArrayRef<int64_t>{ShapedType::kDynamic, rows, tile.width()},
            b.getF32Type(), ValueRange{panels});
      };
      auto mulAdd = [](OpBuilder &b, Location loc, Value x, int64_t c, Value y) -> Value {
        Value prod = arith::MulIOp::create(b, loc, x, cIndex(b, loc, c));
        return y ? arith::AddIOp::create(b, loc, prod, y).getResult() : prod;
      };
      // ht holds h[m] = sum_t w1[i, j, t] xt[i*p + t] (m = i*q + j), which
      // the second product reads at m = v*l + u. With q = l, h is stored
      // permuted, row m at (m % l) * r + m / l = j*r + i, so that block u of
      // the second product reads the contiguous rows u*r + v instead of rows
      // l apart (whose addresses would fall into the same cache sets).
      bool permuted = q == l;
      Value ht = emitBlockProduct(
          b, loc, op.getW1(), xt, scratch(k * q), lanes, tile,
          [&](OpBuilder &b, Location loc, Value i, Value t) { return mulAdd(b, loc, i, p, t); },
          [&](OpBuilder &b, Location loc, Value i) {
            return permuted ? i : mulAdd(b, loc, i, q, Value());
          },
          permuted ? r : 1);
      // yt[c*l + u] = sum_v w2[u, c, v] h[v*l + u]; rows past l*s (up to N
      // rounded up to 8) are read by the final transpose but not kept.
      Value yt = emitBlockProduct(
          b, loc, op.getW2(), ht, scratch(std::max(l * s, roundUpToLanes(n))), lanes, tile,
          [&](OpBuilder &b, Location loc, Value u, Value v) {
            return permuted ? mulAdd(b, loc, u, r, v) : mulAdd(b, loc, v, l, u);
          },
          [&](OpBuilder &b, Location loc, Value u) { return u; }, l);
      ys = emitTransposeOut(b, loc, yt, ys, dest.accumulate);
      return tensor::InsertSliceOp::create(b, loc, ys, result, offsets, outSizes, ones);
    };
    Value result = emitTensorLoop(rewriter, loc, cIndex(rewriter, loc, 0), m,
                                  rewriter.getIndexAttr(kGroupRows), dest.tensor, group);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TesseraLowerMonarchToVectorPass
    : public mlir::tessera::impl::TesseraLowerMonarchToVectorBase<
          TesseraLowerMonarchToVectorPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MonarchToVector>(&getContext(), vectorRegisters);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
