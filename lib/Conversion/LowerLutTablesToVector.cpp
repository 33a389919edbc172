//===- LowerLutTablesToVector.cpp - Vector T-MAC table build --------------===//
//
// tessera.lut_tables with int8 tables (no codebook, f32 activations, groups
// of a multiple of 16) as vector code, one row of x per iteration of an
// scf.forall (the thread pool's unit). A vector holds 16 activations as
// they lie in memory: its 128-bit block r is run r of 4 (x0..x3), so every
// shuffle below stays within a block (one in-lane permute each on x86, no
// transposes). Per group, two passes over its runs, 4 at a time:
//
//   pass 1: |x| broadcast within each block per activation (xt: every lane
//     of block r holds |x_t| of run r), summed in order ((|x0| + |x1|) +
//     |x2|) + |x3|, and the largest taken as integers (the sums are not
//     negative, so their bit patterns order as they do; a NaN stays
//     largest); the sum of x as well; then a = max over lanes,
//     scale a / 127, inv = 127 / a (0 for a = 0);
//   pass 2: for entries p = 4h + e (h = 0, 1; lane e of each block),
//     T[p] = ((-x3 +/- x2) +/- x1) +/- x0 by a negate and three FMAs
//     with constant +/-1 vectors (each FMA rounds once, as an add would:
//     the same values as a tree of adds), times inv, rounded to even by
//     adding 1.5 * 2^23 (the low byte of the f32 then holds the integer in
//     two's complement), and the 16 bytes of each run gathered from those
//     two vectors by one byte shuffle: entries 0..7, then 7..0 negated
//     (the mirrored half, T[15 - p] = -T[p]); 64 bytes per store.
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

// Activations per vector (four runs of 4; on AVX2 targets two registers).
constexpr int64_t kLanes = 16;
// 1.5 * 2^23: adding it to |y| <= 2^22 rounds y to an integer (to even)
// and leaves that integer, in two's complement, in the low byte.
constexpr float kRoundingMagic = 12582912.0f;

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
        ShapedType::isDynamic(xType.getDimSize(1)) || group % kLanes)
      return rewriter.notifyMatchFailure(op, "not int8 tables of f32 runs, group % 16 == 0");
    int64_t k = xType.getDimSize(1), numGroups = k / group;
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type(), i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
    auto vecF32 = VectorType::get({kLanes}, f32);
    auto vecI32 = VectorType::get({kLanes}, i32);
    auto bytes = VectorType::get({4 * kLanes}, i8);
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
    Value zeroF32 = splatF32(0), magic = splatF32(kRoundingMagic);
    Value zeroI32 = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(vecI32, rewriter.getI32IntegerAttr(0)));
    // Activation t of each run, in every lane of the run's block.
    SmallVector<int64_t> broadcastMasks[4];
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t l = 0; l < kLanes; ++l)
        broadcastMasks[t].push_back(l / 4 * 4 + t);
    // The +/-1 factors of activation t in entries 4h + e (lane e of each
    // block): + where bit t of the entry is set.
    auto signs = [&](int64_t h, int64_t t) {
      SmallVector<float> v;
      for (int64_t l = 0; l < kLanes; ++l)
        v.push_back((4 * h + l % 4) >> t & 1 ? 1.0f : -1.0f);
      return arith::ConstantOp::create(rewriter, loc,
                                       DenseElementsAttr::get(vecF32, ArrayRef<float>(v)));
    };
    Value sign[2][3];
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t t = 0; t < 3; ++t)
        sign[h][t] = signs(h, t);
    // Byte 16 r + p of a store: entry p (p < 8) or 15 - p of run r, the low
    // byte of lane 4 r + p % 4 of entries 4h.. (h = p / 4), the second
    // shuffle operand for h = 1; the mirrored half (p >= 8) negated.
    SmallVector<int64_t> gatherMask;
    SmallVector<bool> mirrored;
    for (int64_t i = 0; i < 4 * kLanes; ++i) {
      int64_t r = i / 16, p = i % 16, entry = p < 8 ? p : 15 - p;
      gatherMask.push_back((entry / 4) * 4 * kLanes + 4 * (4 * r + entry % 4));
      mirrored.push_back(p >= 8);
    }
    Value mirroredMask = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(VectorType::get({4 * kLanes}, rewriter.getI1Type()), mirrored));
    Value zeroBytes = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(bytes, rewriter.getI8IntegerAttr(0)));

    auto loadRuns = [&](OpBuilder &b, Location loc, Value row, Value kk) {
      return vector::TransferReadOp::create(b, loc, vecF32, x, ValueRange{row, kk}, padF32,
                                            ArrayRef<bool>(inBounds))
          .getResult();
    };
    auto broadcastInBlocks = [&](OpBuilder &b, Location loc, Value v, int64_t t) -> Value {
      return vector::ShuffleOp::create(b, loc, v, v, broadcastMasks[t]);
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
      // The row's tables as one run of bytes (stores of 4 runs' 64 bytes).
      RankedTensorType rowTablesType = rowType(tablesType);
      SmallVector<ReassociationIndices> runsAndEntries = {{0}, {1, 2}};
      Value tables = tensor::CollapseShapeOp::create(
          b, loc, RankedTensorType::get({1, rowTablesType.getDimSize(1) * 16}, i8),
          rowSlice(shared[0], tablesType), runsAndEntries);
      Value scales = rowSlice(shared[1], scalesType);
      Value sums = rowSlice(shared[2], sumsType);

      auto groups = scf::ForOp::create(
          b, loc, c0, cIndex(b, loc, numGroups), c1,
          ValueRange{tables, scales, sums},
          [&](OpBuilder &b, Location loc, Value g, ValueRange args) {
            Value kBase =
                arith::MulIOp::create(b, loc, g, cIndex(b, loc, group));
            // Pass 1: the largest run of |x| (as integers) and the sum of x.
            auto stats = scf::ForOp::create(
                b, loc, c0, cIndex(b, loc, group), cIndex(b, loc, kLanes),
                ValueRange{zeroI32, zeroF32},
                [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
                  Value v = loadRuns(b, loc, row, arith::AddIOp::create(b, loc, kBase, j));
                  Value abs = math::AbsFOp::create(b, loc, v);
                  Value run = broadcastInBlocks(b, loc, abs, 0);
                  for (int64_t t = 1; t < 4; ++t)
                    run = arith::AddFOp::create(b, loc, run, broadcastInBlocks(b, loc, abs, t));
                  Value bits = arith::BitcastOp::create(b, loc, vecI32, run);
                  scf::YieldOp::create(b, loc,
                                       ValueRange{arith::MaxUIOp::create(b, loc, acc[0], bits),
                                                  arith::AddFOp::create(b, loc, acc[1], v)});
                });
            Value amax = arith::BitcastOp::create(
                b, loc, f32,
                vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXUI,
                                            stats.getResult(0)));
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

            // Pass 2: the tables, 4 runs (64 bytes) at a time.
            Value byteBase = arith::MulIOp::create(b, loc, g, cIndex(b, loc, group * 4));
            Value tablesNext = emitTensorLoop(
                b, loc, c0, cIndex(b, loc, group), b.getIndexAttr(kLanes), args[0],
                [&](OpBuilder &b, Location loc, Value j, Value tables) -> Value {
                  Value v = loadRuns(b, loc, row, arith::AddIOp::create(b, loc, kBase, j));
                  Value xt[4];
                  for (int64_t t = 0; t < 4; ++t)
                    xt[t] = broadcastInBlocks(b, loc, v, t);
                  Value negX3 = arith::NegFOp::create(b, loc, xt[3]);
                  Value halves[2];
                  for (int64_t h = 0; h < 2; ++h) {
                    Value t = negX3;
                    for (int64_t a = 2; a >= 0; --a)
                      t = vector::FMAOp::create(b, loc, xt[a], sign[h][a], t);
                    Value y = arith::MulFOp::create(b, loc, t, invVec);
                    halves[h] = vector::BitCastOp::create(b, loc, bytes,
                                                          arith::AddFOp::create(b, loc, y, magic));
                  }
                  Value entries =
                      vector::ShuffleOp::create(b, loc, halves[0], halves[1], gatherMask);
                  Value table = arith::SelectOp::create(
                      b, loc, mirroredMask, arith::SubIOp::create(b, loc, zeroBytes, entries),
                      entries);
                  Value at = arith::AddIOp::create(
                      b, loc, byteBase, arith::MulIOp::create(b, loc, j, cIndex(b, loc, 4)));
                  return vector::TransferWriteOp::create(b, loc, table, tables, ValueRange{c0, at},
                                                         ArrayRef<bool>(inBounds))
                      .getResult();
                });
            scf::YieldOp::create(b, loc,
                                 ValueRange{tablesNext, scalesNext, sumsNext});
          });

      Value rowTables =
          tensor::ExpandShapeOp::create(b, loc, rowTablesType, groups.getResult(0), runsAndEntries);
      b.setInsertionPointToEnd(forall.getTerminator().getBody());
      auto insert = [&](Value part, Value into, RankedTensorType type) {
        RowBox box = rowBox(type);
        tensor::ParallelInsertSliceOp::create(b, loc, part, into, box.offsets,
                                              box.sizes, box.strides);
      };
      insert(rowTables, shared[0], tablesType);
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
