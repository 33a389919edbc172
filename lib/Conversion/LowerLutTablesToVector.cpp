//===- LowerLutTablesToVector.cpp - Vector T-MAC table build --------------===//
//
// tessera.lut_tables with int8 tables (no codebook, f32 activations, groups
// of a multiple of 32) as vector code, one row of x per iteration of an
// scf.forall (the thread pool's unit). Per group, two passes over its runs
// of 4 activations, 8 runs at a time:
//
//   load 32 activations (4 vectors), deinterleave into x0..x3 (8 shuffles),
//   lane r holding activation t of run r;
//   pass 1: amax = max(amax, |x0|+|x1|+|x2|+|x3|), sum += x0+x1+x2+x3;
//   then a = max over lanes, scale a / 127, inv = 127 / a (0 for a = 0);
//   pass 2: T[p], p < 8 = -x3 +/- x2 +/- x1 +/- x0 (a tree of 14 adds),
//   times inv, rounded to even, transposed (run r's 8 entries in one
//   vector), converted to i8 and stored with the mirrored half
//   (T[15 - p] = -T[p]) as the run's 16 bytes.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "GemmTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERLUTTABLESTOVECTOR
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kRuns = 8; // runs of 4 activations per step (f32 lanes)

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

struct LutTablesToVector : public OpRewritePattern<LutTablesOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LutTablesOp op,
                                PatternRewriter &rewriter) const override {
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto tablesType = cast<RankedTensorType>(op.getTables().getType());
    int64_t group = op.getGroupSize();
    if (op.getCodebook() || !tablesType.getElementType().isInteger(8) ||
        !xType.getElementType().isF32() || xType.getRank() != 2 ||
        ShapedType::isDynamic(xType.getDimSize(1)) || group % (4 * kRuns))
      return rewriter.notifyMatchFailure(
          op, "not int8 tables of f32 runs, group % 32 == 0");
    int64_t k = xType.getDimSize(1), numGroups = k / group;
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type(), i8 = rewriter.getI8Type();
    auto vecF32 = VectorType::get({kRuns}, f32);
    auto bytes8 = VectorType::get({kRuns}, i8);
    bool inBounds[] = {true};
    Value x = op.getX();
    Value c0 = cIndex(rewriter, loc, 0), c1 = cIndex(rewriter, loc, 1);
    Value m = tensor::DimOp::create(rewriter, loc, x, 0);
    Value padF32 =
        arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    auto splatF32 = [&](float v) -> Value {
      return arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(vecF32, rewriter.getF32FloatAttr(v)));
    };
    Value zeroVec = splatF32(0);

    // Activations [kk, kk + 32) of row `row` as x0..x3: lane r of xt is
    // activation t of run r.
    auto loadRuns = [&](OpBuilder &b, Location loc, Value row, Value kk) {
      SmallVector<Value> v;
      for (int64_t i = 0; i < 4; ++i) {
        Value at = arith::AddIOp::create(b, loc, kk, cIndex(b, loc, i * kRuns));
        v.push_back(vector::TransferReadOp::create(b, loc, vecF32, x,
                                                   ValueRange{row, at}, padF32,
                                                   ArrayRef<bool>(inBounds)));
      }
      auto shuffle = [&](Value p, Value q, ArrayRef<int64_t> mask) -> Value {
        return vector::ShuffleOp::create(b, loc, p, q, mask);
      };
      // Runs 0-3 and 4-7: (x0, x1) and (x2, x3) of four runs each.
      const int64_t even[] = {0, 4, 8, 12, 1, 5, 9, 13};
      const int64_t odd[] = {2, 6, 10, 14, 3, 7, 11, 15};
      const int64_t low[] = {0, 1, 2, 3, 8, 9, 10, 11};
      const int64_t high[] = {4, 5, 6, 7, 12, 13, 14, 15};
      Value a01 = shuffle(v[0], v[1], even), a23 = shuffle(v[0], v[1], odd);
      Value b01 = shuffle(v[2], v[3], even), b23 = shuffle(v[2], v[3], odd);
      return SmallVector<Value>{shuffle(a01, b01, low), shuffle(a01, b01, high),
                                shuffle(a23, b23, low),
                                shuffle(a23, b23, high)};
    };

    auto rowType = [&](RankedTensorType type) {
      SmallVector<int64_t> shape(type.getShape());
      shape[0] = 1;
      return RankedTensorType::get(shape, type.getElementType());
    };
    auto scalesType = cast<RankedTensorType>(op.getTableScales().getType());
    auto sumsType = cast<RankedTensorType>(op.getSums().getType());
    auto empty = [&](RankedTensorType type) -> Value {
      SmallVector<Value> dyn;
      if (type.isDynamicDim(0))
        dyn.push_back(m);
      return tensor::EmptyOp::create(rewriter, loc, type, dyn);
    };
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{OpFoldResult(m)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)},
        ValueRange{empty(tablesType), empty(scalesType), empty(sumsType)},
        std::nullopt);
    {
      OpBuilder::InsertionGuard guard(rewriter);
      OpBuilder &b = rewriter;
      b.setInsertionPointToStart(forall.getBody());
      Value row = forall.getInductionVar(0);
      // Row `row` of a result: offsets, sizes and strides.
      struct RowBox {
        SmallVector<OpFoldResult> offsets, sizes, strides;
      };
      auto rowBox = [&](RankedTensorType type) {
        RowBox box;
        for (int64_t d = 0; d < type.getRank(); ++d) {
          box.offsets.push_back(d == 0 ? OpFoldResult(row)
                                       : OpFoldResult(b.getIndexAttr(0)));
          box.sizes.push_back(b.getIndexAttr(d == 0 ? 1 : type.getDimSize(d)));
          box.strides.push_back(b.getIndexAttr(1));
        }
        return box;
      };
      auto rowSlice = [&](Value shared, RankedTensorType type) -> Value {
        RowBox box = rowBox(type);
        return tensor::ExtractSliceOp::create(
            b, loc, rowType(type), shared, box.offsets, box.sizes, box.strides);
      };
      ValueRange shared = forall.getRegionIterArgs();
      Value tables = rowSlice(shared[0], tablesType);
      Value scales = rowSlice(shared[1], scalesType);
      Value sums = rowSlice(shared[2], sumsType);

      auto groups = scf::ForOp::create(
          b, loc, c0, cIndex(b, loc, numGroups), c1,
          ValueRange{tables, scales, sums},
          [&](OpBuilder &b, Location loc, Value g, ValueRange args) {
            Value kBase =
                arith::MulIOp::create(b, loc, g, cIndex(b, loc, group));
            // Pass 1: the largest run of |x| and the sum of x.
            auto stats = scf::ForOp::create(
                b, loc, c0, cIndex(b, loc, group), cIndex(b, loc, 4 * kRuns),
                ValueRange{zeroVec, zeroVec},
                [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
                  SmallVector<Value> xt = loadRuns(
                      b, loc, row, arith::AddIOp::create(b, loc, kBase, j));
                  Value abs = math::AbsFOp::create(b, loc, xt[0]);
                  Value sum = xt[0];
                  for (int64_t t = 1; t < 4; ++t) {
                    abs = arith::AddFOp::create(
                        b, loc, abs, math::AbsFOp::create(b, loc, xt[t]));
                    sum = arith::AddFOp::create(b, loc, sum, xt[t]);
                  }
                  scf::YieldOp::create(
                      b, loc,
                      ValueRange{arith::MaximumFOp::create(b, loc, acc[0], abs),
                                 arith::AddFOp::create(b, loc, acc[1], sum)});
                });
            Value amax = vector::ReductionOp::create(
                b, loc, vector::CombiningKind::MAXIMUMF, stats.getResult(0));
            Value total = vector::ReductionOp::create(
                b, loc, vector::CombiningKind::ADD, stats.getResult(1), Value(),
                arith::FastMathFlags::reassoc);
            Value c127 =
                arith::ConstantOp::create(b, loc, b.getF32FloatAttr(127));
            Value zeroF =
                arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
            Value scale = arith::DivFOp::create(b, loc, amax, c127);
            Value positive = arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::OGT, amax, zeroF);
            Value inv = arith::SelectOp::create(
                b, loc, positive, arith::DivFOp::create(b, loc, c127, amax),
                zeroF);
            Value invVec = vector::BroadcastOp::create(b, loc, vecF32, inv);
            Value scalesNext = tensor::InsertOp::create(b, loc, scale, args[1],
                                                        ValueRange{c0, g});
            Value sumsNext = tensor::InsertOp::create(b, loc, total, args[2],
                                                      ValueRange{c0, g});

            // Pass 2: the tables.
            Value runBase =
                arith::MulIOp::create(b, loc, g, cIndex(b, loc, group / 4));
            Value tablesNext = emitTensorLoop(
                b, loc, c0, cIndex(b, loc, group), b.getIndexAttr(4 * kRuns),
                args[0],
                [&](OpBuilder &b, Location loc, Value j,
                    Value tables) -> Value {
                  SmallVector<Value> xt = loadRuns(
                      b, loc, row, arith::AddIOp::create(b, loc, kBase, j));
                  // s2[b2] = -x3 +/- x2, s1[b2][b1] = s2 +/- x1, T = s1 +/- x0.
                  auto add = [&](Value p, Value q) -> Value {
                    return arith::AddFOp::create(b, loc, p, q);
                  };
                  auto sub = [&](Value p, Value q) -> Value {
                    return arith::SubFOp::create(b, loc, p, q);
                  };
                  Value s2[2] = {
                      arith::NegFOp::create(b, loc, add(xt[3], xt[2])),
                      sub(xt[2], xt[3])};
                  SmallVector<Value> entries(8);
                  for (int64_t b2 = 0; b2 < 2; ++b2)
                    for (int64_t b1 = 0; b1 < 2; ++b1) {
                      Value s1 = b1 ? add(s2[b2], xt[1]) : sub(s2[b2], xt[1]);
                      for (int64_t b0 = 0; b0 < 2; ++b0) {
                        Value t = b0 ? add(s1, xt[0]) : sub(s1, xt[0]);
                        entries[b0 + 2 * b1 + 4 * b2] =
                            math::RoundEvenOp::create(
                                b, loc,
                                arith::MulFOp::create(b, loc, t, invVec));
                      }
                    }
                  // Run r's entries 0..7 in one vector, then its 16 bytes.
                  SmallVector<Value> runs = emitTranspose8x8(b, loc, entries);
                  Value firstRun = arith::AddIOp::create(
                      b, loc, runBase,
                      arith::DivUIOp::create(b, loc, j, cIndex(b, loc, 4)));
                  const int64_t mirror[] = {0,  1,  2,  3,  4,  5,  6, 7,
                                            15, 14, 13, 12, 11, 10, 9, 8};
                  for (int64_t r = 0; r < kRuns; ++r) {
                    Value q = arith::FPToSIOp::create(b, loc, bytes8, runs[r]);
                    Value neg = arith::SubIOp::create(
                        b, loc,
                        arith::ConstantOp::create(
                            b, loc,
                            DenseElementsAttr::get(bytes8,
                                                   b.getI8IntegerAttr(0))),
                        q);
                    Value table =
                        vector::ShuffleOp::create(b, loc, q, neg, mirror);
                    Value at = arith::AddIOp::create(b, loc, firstRun,
                                                     cIndex(b, loc, r));
                    tables = vector::TransferWriteOp::create(
                                 b, loc, table, tables, ValueRange{c0, at, c0},
                                 ArrayRef<bool>(inBounds))
                                 .getResult();
                  }
                  return tables;
                });
            scf::YieldOp::create(b, loc,
                                 ValueRange{tablesNext, scalesNext, sumsNext});
          });

      b.setInsertionPointToEnd(forall.getTerminator().getBody());
      auto insert = [&](Value part, Value into, RankedTensorType type) {
        RowBox box = rowBox(type);
        tensor::ParallelInsertSliceOp::create(b, loc, part, into, box.offsets,
                                              box.sizes, box.strides);
      };
      insert(groups.getResult(0), shared[0], tablesType);
      insert(groups.getResult(1), shared[1], scalesType);
      insert(groups.getResult(2), shared[2], sumsType);
    }
    rewriter.replaceOp(op, forall.getResults());
    return success();
  }
};

struct TesseraLowerLutTablesToVectorPass
    : public mlir::tessera::impl::TesseraLowerLutTablesToVectorBase<
          TesseraLowerLutTablesToVectorPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LutTablesToVector>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
