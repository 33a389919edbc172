//===- StructuredToLinalg.cpp - Reference lowering of structured matmuls -===//
//
// The reference lowering of tessera.monarch_mm and tessera.bsr_mm: correct
// for every shape and float type, simple rather than fast (the vector
// kernels are in LowerMonarchToVector.cpp and LowerBsrToVector.cpp).
//
//===----------------------------------------------------------------------===//

#include "StructuredToLinalg.h"

#include "tessera/Dialect/Tessera.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

using utils::IteratorType;

Value toF32(OpBuilder &b, Location loc, Value v) {
  return v.getType().isF32() ? v : arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// A zero-filled f32 tensor of `shape` whose dynamic dimension (the first)
/// has the size `rows`.
Value zeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Value rows) {
  SmallVector<Value> dyn;
  if (ShapedType::isDynamic(shape[0]))
    dyn.push_back(rows);
  Value empty = tensor::EmptyOp::create(b, loc, shape, b.getF32Type(), dyn);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty}).getResult(0);
}

/// init + acc (f32, same shape as init), in init's element type.
Value addToInit(OpBuilder &b, Location loc, Value acc, Value init) {
  auto type = cast<RankedTensorType>(init.getType());
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{acc}, ValueRange{init},
             ArrayRef<AffineMap>{id, id}, {IteratorType::parallel, IteratorType::parallel},
             [&](OpBuilder &b, Location loc, ValueRange args) {
               Value sum = arith::AddFOp::create(b, loc, toF32(b, loc, args[1]), args[0]);
               if (!args[1].getType().isF32())
                 sum = arith::TruncFOp::create(b, loc, args[1].getType(), sum);
               linalg::YieldOp::create(b, loc, sum);
             })
      .getResult(0);
}

/// out[...] += a[...] * b[...] over `dims` loops (the last one a reduction),
/// the maps given; products in f32.
Value contract(OpBuilder &b, Location loc, Value lhs, Value rhs, Value out,
               ArrayRef<AffineMap> maps, int64_t dims) {
  SmallVector<IteratorType> iterators(dims - 1, IteratorType::parallel);
  iterators.push_back(IteratorType::reduction);
  return linalg::GenericOp::create(
             b, loc, TypeRange{out.getType()}, ValueRange{lhs, rhs}, ValueRange{out}, maps,
             iterators,
             [&](OpBuilder &b, Location loc, ValueRange args) {
               Value prod = arith::MulFOp::create(b, loc, toF32(b, loc, args[0]),
                                                  toF32(b, loc, args[1]));
               linalg::YieldOp::create(b, loc,
                                       arith::AddFOp::create(b, loc, args[2], prod).getResult());
             })
      .getResult(0);
}

struct MonarchMmLowering : public OpRewritePattern<MonarchMmOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MonarchMmOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    ArrayRef<int64_t> w1Shape = op.getW1().getType().getShape(),
                      w2Shape = op.getW2().getType().getShape();
    int64_t k = w1Shape[0], q = w1Shape[1], p = w1Shape[2];
    int64_t l = w2Shape[0], s = w2Shape[1], r = w2Shape[2];
    Value x = op.getX();
    auto xType = op.getX().getType();
    int64_t batch = xType.getDimSize(0), kIn = xType.getDimSize(1);
    Value rows = tensor::DimOp::create(rewriter, loc, x, 0);

    // X padded with zero columns to k * p, viewed as B x k x p.
    if (kIn < k * p) {
      auto paddedType = RankedTensorType::get({batch, k * p}, xType.getElementType());
      Value zero = arith::ConstantOp::create(
          rewriter, loc, rewriter.getFloatAttr(xType.getElementType(), 0));
      SmallVector<OpFoldResult> low(2, rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> high = {rewriter.getIndexAttr(0),
                                        rewriter.getIndexAttr(k * p - kIn)};
      x = tensor::PadOp::create(rewriter, loc, paddedType, x, low, high, zero);
    }
    auto x3Type = RankedTensorType::get({batch, k, p}, xType.getElementType());
    Value x3 = tensor::ExpandShapeOp::create(rewriter, loc, x3Type, x,
                                             ArrayRef<ReassociationIndices>{{0}, {1, 2}});

    // h[b, i, j] = sum_t x3[b, i, t] * w1[i, j, t].
    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3);
    Value h = contract(rewriter, loc, x3, op.getW1(), zeros(rewriter, loc, {batch, k, q}, rows),
                       {AffineMap::get(4, 0, {d0, d1, d3}, ctx),
                        AffineMap::get(4, 0, {d1, d2, d3}, ctx),
                        AffineMap::get(4, 0, {d0, d1, d2}, ctx)},
                       4);
    // h viewed as B x r x l: h2[b, u, v] = h[b, v * l + u] is the map
    // (b, u, c, v) -> (b, v, u); o[b, c, u] = sum_v h2 * w2[u, c, v], which is
    // Y[b, c * l + u] once viewed as B x (s * l).
    auto hFlat = RankedTensorType::get({batch, k * q}, rewriter.getF32Type());
    h = tensor::CollapseShapeOp::create(rewriter, loc, hFlat, h,
                                        ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    h = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get({batch, r, l}, rewriter.getF32Type()), h,
        ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    Value o = contract(rewriter, loc, h, op.getW2(), zeros(rewriter, loc, {batch, s, l}, rows),
                       {AffineMap::get(4, 0, {d0, d3, d1}, ctx),
                        AffineMap::get(4, 0, {d1, d2, d3}, ctx),
                        AffineMap::get(4, 0, {d0, d2, d1}, ctx)},
                       4);
    auto yType = RankedTensorType::get({batch, s * l}, rewriter.getF32Type());
    Value y = tensor::CollapseShapeOp::create(rewriter, loc, yType, o,
                                              ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    int64_t n = op.getInit().getType().getDimSize(1);
    if (n < s * l) {
      SmallVector<OpFoldResult> offsets(2, rewriter.getIndexAttr(0)),
          strides(2, rewriter.getIndexAttr(1));
      SmallVector<OpFoldResult> sizes = {rows, rewriter.getIndexAttr(n)};
      y = tensor::ExtractSliceOp::create(
          rewriter, loc, RankedTensorType::get({batch, n}, rewriter.getF32Type()), y,
          offsets, sizes, strides);
    }
    rewriter.replaceOp(op, addToInit(rewriter, loc, y, op.getInit()));
    return success();
  }
};

struct BsrMmLowering : public OpRewritePattern<BsrMmOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BsrMmOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    int64_t blockRows = op.getBlockRows(), blockCols = op.getBlockColumns();
    auto initType = op.getInit().getType();
    int64_t n = initType.getDimSize(1), kIn = op.getX().getType().getDimSize(1);
    Value x = op.getX(), indptr = op.getIndptr(), indices = op.getIndices(),
          blocks = op.getBlocks();
    Value rows = tensor::DimOp::create(rewriter, loc, x, 0);
    Value acc = zeros(rewriter, loc, initType.getShape(), rows);
    // Row ranges clamped to [0, nnz] and out-of-range columns skipped, so
    // that no pattern reads out of bounds.
    Value nnz = arith::MinUIOp::create(rewriter, loc, tensor::DimOp::create(rewriter, loc, indices, 0),
                                       tensor::DimOp::create(rewriter, loc, blocks, 0));
    auto loadIndex = [&](OpBuilder &b, Location loc, Value tensor, Value i) -> Value {
      Value v = tensor::ExtractOp::create(b, loc, tensor, i);
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    };
    auto clamp = [&](OpBuilder &b, Location loc, Value v, Value lo, Value hi) -> Value {
      return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, v, lo), hi);
    };
    Value c0 = cIndex(rewriter, loc, 0), c1 = cIndex(rewriter, loc, 1);
    AffineExpr m, r, c;
    bindDims(ctx, m, r, c);
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {m, c}, ctx),
                                   AffineMap::get(3, 0, {r, c}, ctx),
                                   AffineMap::get(3, 0, {m, r}, ctx)};
    SmallVector<OpFoldResult> ones(2, rewriter.getIndexAttr(1));
    auto rowLoop = scf::ForOp::create(
        rewriter, loc, c0, cIndex(rewriter, loc, n / blockRows), c1, ValueRange{acc},
        [&](OpBuilder &b, Location loc, Value i, ValueRange rowArgs) {
          Value begin = clamp(b, loc, loadIndex(b, loc, indptr, i), c0, nnz);
          Value end = clamp(b, loc, loadIndex(b, loc, indptr, arith::AddIOp::create(b, loc, i, c1)),
                            begin, nnz);
          Value row0 = arith::MulIOp::create(b, loc, i, cIndex(b, loc, blockRows));
          auto blockLoop = scf::ForOp::create(
              b, loc, begin, end, c1, rowArgs,
              [&](OpBuilder &b, Location loc, Value pIdx, ValueRange args) {
                Value j = loadIndex(b, loc, indices, pIdx);
                Value valid = arith::AndIOp::create(
                    b, loc,
                    arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, j, c0),
                    arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, j,
                                          cIndex(b, loc, kIn / blockCols)));
                auto ifOp = scf::IfOp::create(
                    b, loc, valid,
                    [&](OpBuilder &b, Location loc) {
                      Value col0 = arith::MulIOp::create(b, loc, j, cIndex(b, loc, blockCols));
                      Value xs = tensor::ExtractSliceOp::create(
                          b, loc, x, ArrayRef<OpFoldResult>{b.getIndexAttr(0), col0},
                          ArrayRef<OpFoldResult>{rows, b.getIndexAttr(blockCols)}, ones);
                      auto blockType = RankedTensorType::get(
                          {blockRows, blockCols}, op.getBlocks().getType().getElementType());
                      Value blk = tensor::ExtractSliceOp::create(
                          b, loc, blockType, blocks,
                          ArrayRef<OpFoldResult>{pIdx, b.getIndexAttr(0), b.getIndexAttr(0)},
                          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(blockRows),
                                                 b.getIndexAttr(blockCols)},
                          SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
                      SmallVector<OpFoldResult> accOffsets = {b.getIndexAttr(0), row0};
                      SmallVector<OpFoldResult> accSizes = {rows, b.getIndexAttr(blockRows)};
                      Value accSlice = tensor::ExtractSliceOp::create(b, loc, args[0], accOffsets,
                                                                      accSizes, ones);
                      Value sum = contract(b, loc, xs, blk, accSlice, maps, 3);
                      scf::YieldOp::create(b, loc,
                                           tensor::InsertSliceOp::create(
                                               b, loc, sum, args[0], accOffsets, accSizes, ones)
                                               .getResult());
                    },
                    [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, args[0]); });
                scf::YieldOp::create(b, loc, ifOp.getResults());
              });
          scf::YieldOp::create(b, loc, blockLoop.getResults());
        });
    rewriter.replaceOp(op, addToInit(rewriter, loc, rowLoop.getResult(0), op.getInit()));
    return success();
  }
};

} // namespace

void mlir::tessera::populateStructuredToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<MonarchMmLowering, BsrMmLowering>(patterns.getContext());
}
