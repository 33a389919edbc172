//===- LowerMpmmToVector.cpp - Fused vector lowering of tessera.mpmm ------===//
//
// The dequantize-then-FMA strategy without materializing the dequantized
// matrix. For integer codes read straight from their canonical packed
// storage (weights produced by tessera.unpack), every run of 8 codes is
// unpacked in a vector register: its b bytes are loaded as one b*8-bit
// integer, broadcast to 8 x i64 lanes, shifted right by 0, b, ..., 7b and
// masked (sign-extended by shifting for signed codes) - the same sequence
// for every width, 3, 5, 6, 7 included. An integer zero point is
// subtracted from the codes exactly, in i32; the codes are converted to f32
// and multiplied with x in an f32 vector accumulator; the group scale (and a
// float offset, through the group sum of x) is applied once per group:
//
//   y[m, n] += sum_g s[n,g] * sum_j x[m,k] (q[n,k] - z[n,g])      (int zero)
//   y[m, n] += sum_g s[n,g] * sum_j x[m,k] q[n,k] + z[n,g] sum_j x[m,k]
//
// Ops that do not fit (float or codebook codes, non-f32 activations or
// results, K or the group size not a multiple of 8, weights not from
// canonical unpack) are left for the reference lowering.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "PackedCodes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERMPMMTOVECTOR
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kLanes = 8; // codes unpacked per step

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Canonical packed storage behind a low-bit value, if it is a tessera.unpack
/// without a layout.
Value canonicalStorage(Value v) {
  auto unpack = v.getDefiningOp<UnpackOp>();
  if (!unpack || unpack.getLayout())
    return Value();
  return unpack.getStorage();
}

struct MpmmToVector : public OpRewritePattern<MpmmOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MpmmOp op,
                                PatternRewriter &rewriter) const override {
    Value weights = canonicalStorage(op.getWeights());
    if (!weights)
      return rewriter.notifyMatchFailure(op, "weights not canonical unpack");
    Type codeType = op.getWeights().getType().getElementType();
    if (!isLowBitIntegerType(codeType) || op.getCodebook())
      return rewriter.notifyMatchFailure(op, "not integer codes");
    auto xType = op.getX().getType();
    auto yType = op.getInit().getType();
    if (!xType.getElementType().isF32() || !yType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not f32 activations/results");
    int64_t n = op.getWeights().getType().getDimSize(0);
    int64_t k = op.getWeights().getType().getDimSize(1);
    int64_t group = op.getGroupSize();
    if (k % kLanes || group % kLanes)
      return rewriter.notifyMatchFailure(op, "K or group not a multiple of 8");
    ZeroPointMode zeroMode = op.getZeroPointMode();
    Value zeroStorage;
    if (zeroMode == ZeroPointMode::Int) {
      zeroStorage = canonicalStorage(op.getZeros());
      if (!zeroStorage)
        return rewriter.notifyMatchFailure(op, "zeros not canonical unpack");
    }

    Location loc = op.getLoc();
    unsigned bits = getLowBitWidth(codeType);
    bool isSigned = codeType.isSignedInteger();
    Type f32 = rewriter.getF32Type(), i64 = rewriter.getI64Type();
    auto vecF32 = VectorType::get({kLanes}, f32);
    // 8 codes of up to 4 bits fit 32 bits: then the lanes are i32 and no
    // 64-bit shift or truncation is needed.
    bool narrow = 8 * bits <= 32;
    Type laneType = narrow ? rewriter.getI32Type() : i64;
    auto vecLanes = VectorType::get({kLanes}, laneType);
    auto vecI32 = VectorType::get({kLanes}, rewriter.getI32Type());
    auto bytesType = VectorType::get({int64_t(bits)}, rewriter.getI8Type());
    auto wordType = VectorType::get({1}, rewriter.getIntegerType(8 * bits));
    int64_t numGroups = k / group;
    Value x = op.getX(), scales = op.getScales(), zeros = op.getZeros();
    Type zeroType =
        zeros ? cast<ShapedType>(zeros.getType()).getElementType() : Type();

    Value c0 = cIndex(rewriter, loc, 0), c1 = cIndex(rewriter, loc, 1);
    Value m = tensor::DimOp::create(rewriter, loc, x, 0);
    Value zeroF = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    Value zeroVec = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(vecF32, rewriter.getF32FloatAttr(0)));
    SmallVector<int64_t> shiftValues;
    for (int64_t l = 0; l < kLanes; ++l)
      shiftValues.push_back(l * bits);
    SmallVector<int32_t> shiftValues32(shiftValues.begin(), shiftValues.end());
    Value shifts = arith::ConstantOp::create(
        rewriter, loc,
        narrow ? DenseElementsAttr::get(vecLanes, ArrayRef<int32_t>(shiftValues32))
               : DenseElementsAttr::get(vecLanes, ArrayRef<int64_t>(shiftValues)));
    // Keep the code in the top bits of an i32 lane, then shift back down
    // (arithmetically for signed codes): mask and sign extension at once.
    Value up = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(vecI32, rewriter.getI32IntegerAttr(32 - bits)));
    bool inBounds[] = {true};

    bool needXsum = zeroMode == ZeroPointMode::Float;

    // One block of `rows` rows of x starting at mStart: each run of 8 codes
    // is unpacked once and multiplied into `rows` accumulators.
    auto rowBlock = [&](OpBuilder &b, Location loc, Value nIv, Value mStart,
                        int64_t rows, Value y) -> Value {
      SmallVector<Value> mIdx;
      for (int64_t r = 0; r < rows; ++r)
        mIdx.push_back(r == 0 ? mStart
                              : Value(arith::AddIOp::create(
                                    b, loc, mStart, cIndex(b, loc, r))));
      auto gLoop = scf::ForOp::create(
          b, loc, c0, cIndex(b, loc, numGroups), c1,
          SmallVector<Value>(rows, zeroF),
          [&](OpBuilder &b, Location loc, Value gIv, ValueRange gArgs) {
            Value kBase = arith::MulIOp::create(b, loc, gIv, cIndex(b, loc, group));
            // The group's integer zero point, in every lane.
            Value zeroLanes;
            if (zeroMode == ZeroPointMode::Int) {
              Value zIndex = arith::AddIOp::create(
                  b, loc, arith::MulIOp::create(b, loc, nIv, cIndex(b, loc, numGroups)),
                  gIv);
              Value z = emitReadPackedCode(b, loc, zeroStorage, zIndex,
                                      getLowBitWidth(zeroType),
                                      zeroType.isSignedInteger());
              zeroLanes = vector::BroadcastOp::create(b, loc, vecI32, z);
            }
            // Unpacks codes [kk, kk + 8) of row n into 8 f32 lanes.
            auto unpack8 = [&](OpBuilder &b, Location loc, Value kk) -> Value {
              // Their bytes start on a byte: K and kk are multiples of 8.
              Value flat = arith::AddIOp::create(
                  b, loc, arith::MulIOp::create(b, loc, nIv, cIndex(b, loc, k)), kk);
              Value byteOff = arith::DivUIOp::create(
                  b, loc, arith::MulIOp::create(b, loc, flat, cIndex(b, loc, bits)),
                  cIndex(b, loc, 8));
              Value bytes = vector::TransferReadOp::create(
                  b, loc, bytesType, weights, ValueRange{byteOff},
                  arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0),
                  ArrayRef<bool>(inBounds));
              Value word = vector::BitCastOp::create(b, loc, wordType, bytes);
              Value scalar =
                  vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0});
              if (8 * bits < laneType.getIntOrFloatBitWidth())
                scalar = arith::ExtUIOp::create(b, loc, laneType, scalar);
              Value lanes = vector::BroadcastOp::create(b, loc, vecLanes, scalar);
              lanes = arith::ShRUIOp::create(b, loc, lanes, shifts);
              Value codes = narrow ? lanes
                                   : Value(arith::TruncIOp::create(b, loc, vecI32, lanes));
              codes = arith::ShLIOp::create(b, loc, codes, up);
              codes = isSigned ? Value(arith::ShRSIOp::create(b, loc, codes, up))
                               : Value(arith::ShRUIOp::create(b, loc, codes, up));
              bool signedValues = isSigned;
              if (zeroLanes) {
                // q - z of two 8-bit values is exact in i32.
                codes = arith::SubIOp::create(b, loc, codes, zeroLanes);
                signedValues = true;
              }
              return signedValues
                         ? Value(arith::SIToFPOp::create(b, loc, vecF32, codes))
                         : Value(arith::UIToFPOp::create(b, loc, vecF32, codes));
            };
            // `unroll` runs of 8 codes per step, each into its own
            // accumulators, so that about four FMA chains are in flight.
            int64_t unroll = rows >= 4 ? 1 : group % (4 * kLanes) == 0 ? 4
                             : group % (2 * kLanes) == 0             ? 2
                                                                     : 1;
            int64_t numAcc = unroll * rows;
            auto jLoop = scf::ForOp::create(
                b, loc, c0, cIndex(b, loc, group), cIndex(b, loc, kLanes * unroll),
                SmallVector<Value>(numAcc * (needXsum ? 2 : 1), zeroVec),
                [&](OpBuilder &b, Location loc, Value jIv, ValueRange acc) {
                  SmallVector<Value> next(acc.begin(), acc.end());
                  for (int64_t u = 0; u < unroll; ++u) {
                    Value kk = arith::AddIOp::create(
                        b, loc, kBase,
                        arith::AddIOp::create(b, loc, jIv, cIndex(b, loc, u * kLanes)));
                    Value values = unpack8(b, loc, kk);
                    for (int64_t r = 0; r < rows; ++r) {
                      Value xv = vector::TransferReadOp::create(
                          b, loc, vecF32, x, ValueRange{mIdx[r], kk}, zeroF,
                          ArrayRef<bool>(inBounds));
                      int64_t i = u * rows + r;
                      next[i] = vector::FMAOp::create(b, loc, xv, values, acc[i]);
                      if (needXsum)
                        next[numAcc + i] =
                            arith::AddFOp::create(b, loc, acc[numAcc + i], xv);
                    }
                  }
                  scf::YieldOp::create(b, loc, next);
                });
            // Row r's total over the unrolled accumulators starting at `base`.
            auto rowTotal = [&](int64_t base, int64_t r) -> Value {
              Value v = jLoop.getResult(base + r);
              for (int64_t u = 1; u < unroll; ++u)
                v = arith::AddFOp::create(b, loc, v,
                                          jLoop.getResult(base + u * rows + r));
              return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, v);
            };
            Value scale = tensor::ExtractOp::create(b, loc, scales, ValueRange{nIv, gIv});
            if (!scale.getType().isF32())
              scale = arith::ExtFOp::create(b, loc, f32, scale);
            Value offset;
            if (needXsum) {
              offset = tensor::ExtractOp::create(b, loc, zeros, ValueRange{nIv, gIv});
              if (!offset.getType().isF32())
                offset = arith::ExtFOp::create(b, loc, f32, offset);
            }
            SmallVector<Value> sums;
            for (int64_t r = 0; r < rows; ++r) {
              Value dot = rowTotal(0, r);
              Value contribution = arith::MulFOp::create(b, loc, scale, dot);
              if (needXsum) {
                Value xsum = rowTotal(numAcc, r);
                contribution = arith::AddFOp::create(
                    b, loc, contribution, arith::MulFOp::create(b, loc, offset, xsum));
              }
              sums.push_back(arith::AddFOp::create(b, loc, gArgs[r], contribution));
            }
            scf::YieldOp::create(b, loc, sums);
          });
      for (int64_t r = 0; r < rows; ++r) {
        Value old = tensor::ExtractOp::create(b, loc, y, ValueRange{mIdx[r], nIv});
        Value sum = arith::AddFOp::create(b, loc, old, gLoop.getResult(r));
        y = tensor::InsertOp::create(b, loc, sum, y, ValueRange{mIdx[r], nIv});
      }
      return y;
    };

    // Rows in blocks of kRows, then one at a time.
    constexpr int64_t kRows = 4;
    Value mFull = arith::MulIOp::create(
        rewriter, loc,
        arith::DivUIOp::create(rewriter, loc, m, cIndex(rewriter, loc, kRows)),
        cIndex(rewriter, loc, kRows));
    auto nLoop = scf::ForOp::create(
        rewriter, loc, c0, cIndex(rewriter, loc, n), c1, ValueRange{op.getInit()},
        [&](OpBuilder &b, Location loc, Value nIv, ValueRange nArgs) {
          auto blocks = scf::ForOp::create(
              b, loc, c0, mFull, cIndex(b, loc, kRows), nArgs,
              [&](OpBuilder &b, Location loc, Value mIv, ValueRange args) {
                scf::YieldOp::create(b, loc, rowBlock(b, loc, nIv, mIv, kRows, args[0]));
              });
          auto rest = scf::ForOp::create(
              b, loc, mFull, m, c1, blocks.getResults(),
              [&](OpBuilder &b, Location loc, Value mIv, ValueRange args) {
                scf::YieldOp::create(b, loc, rowBlock(b, loc, nIv, mIv, 1, args[0]));
              });
          scf::YieldOp::create(b, loc, rest.getResults());
        });
    rewriter.replaceOp(op, nLoop.getResults());
    return success();
  }
};

struct TesseraLowerMpmmToVectorPass
    : public mlir::tessera::impl::TesseraLowerMpmmToVectorBase<
          TesseraLowerMpmmToVectorPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MpmmToVector>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
