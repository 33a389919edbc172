//===- LowerToLinalg.cpp - Reference lowering of Tessera to linalg --------===//
//
// Logical low-bit tensors become i8 tensors (one code per byte, sign- or
// zero-extended); tessera.unpack / tessera.pack become linalg.generic ops
// that move bits with shifts and masks; tessera.mpmm becomes a dequantizing
// generic followed by an f32 contraction.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERTOLINALG
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

using utils::IteratorType;

/// Low-bit tensors are held as i8 tensors of the same shape.
class LowBitTypeConverter : public TypeConverter {
public:
  LowBitTypeConverter() {
    addConversion([](Type type) { return type; });
    addConversion([](RankedTensorType type) -> Type {
      if (!isLowBitIntegerType(type.getElementType()))
        return type;
      return type.clone(IntegerType::get(type.getContext(), 8));
    });
  }
};

Value constI32(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
}
Value constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// Converts an integer (signed per `isSigned`) to f32.
Value intToF32(OpBuilder &b, Location loc, Value v, bool isSigned) {
  if (isSigned)
    return arith::SIToFPOp::create(b, loc, b.getF32Type(), v);
  return arith::UIToFPOp::create(b, loc, b.getF32Type(), v);
}

/// Converts a float of f32/f16/bf16 to f32.
Value floatToF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

/// Widens an i8 holding a code of the given signedness to i32.
Value intToI32(OpBuilder &b, Location loc, Value v, bool isSigned) {
  if (isSigned)
    return arith::ExtSIOp::create(b, loc, b.getI32Type(), v);
  return arith::ExtUIOp::create(b, loc, b.getI32Type(), v);
}

SmallVector<IteratorType> parallelIterators(unsigned n) {
  return SmallVector<IteratorType>(n, IteratorType::parallel);
}

/// tensor.empty of `shape` (dynamic dims taken from `dynSizesFrom`).
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type,
                Value dynSizesFrom) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynSizes.push_back(tensor::DimOp::create(b, loc, dynSizesFrom, i));
  return tensor::EmptyOp::create(b, loc, type.getShape(),
                                 type.getElementType(), dynSizes);
}

//===----------------------------------------------------------------------===//
// tessera.unpack
//===----------------------------------------------------------------------===//

struct UnpackOpLowering : public OpConversionPattern<UnpackOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(UnpackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType logical = op.getResult().getType();
    auto resultType =
        cast<RankedTensorType>(getTypeConverter()->convertType(logical));
    unsigned bits = logical.getElementTypeBitWidth();
    bool isSigned = logical.getElementType().isSignedInteger();
    int64_t numBytes = op.getStorage().getType().getDimSize(0);
    bool mayStraddle = 8 % bits != 0;
    Value storage = adaptor.getStorage();

    unsigned rank = logical.getRank();
    SmallVector<int64_t> strides = computeStrides(logical.getShape());
    Value init = emptyLike(rewriter, loc, resultType, Value());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, ValueRange{}, ValueRange{init},
        SmallVector<AffineMap>{rewriter.getMultiDimIdentityMap(rank)},
        parallelIterators(rank),
        [&](OpBuilder &b, Location loc, ValueRange) {
          // Flat element index, then its bit position in the storage.
          Value flat = constIndex(b, loc, 0);
          for (unsigned d = 0; d < rank; ++d) {
            Value idx = linalg::IndexOp::create(b, loc, d);
            Value term = arith::MulIOp::create(
                b, loc, idx, constIndex(b, loc, strides[d]));
            flat = arith::AddIOp::create(b, loc, flat, term);
          }
          Value bitPos = arith::MulIOp::create(b, loc, flat,
                                               constIndex(b, loc, bits));
          Value byteIdx = arith::ShRUIOp::create(b, loc, bitPos,
                                                 constIndex(b, loc, 3));
          Value shiftIdx = arith::AndIOp::create(b, loc, bitPos,
                                                 constIndex(b, loc, 7));
          Value shift = arith::IndexCastUIOp::create(b, loc, b.getI32Type(),
                                                     shiftIdx);
          Value lo = tensor::ExtractOp::create(b, loc, storage, byteIdx);
          Value word = arith::ExtUIOp::create(b, loc, b.getI32Type(), lo);
          if (mayStraddle) {
            // The next byte holds the code's high bits when it straddles;
            // clamp the index so the last code never reads past the end.
            Value next = arith::AddIOp::create(b, loc, byteIdx,
                                               constIndex(b, loc, 1));
            next = arith::MinUIOp::create(b, loc, next,
                                          constIndex(b, loc, numBytes - 1));
            Value hi = tensor::ExtractOp::create(b, loc, storage, next);
            Value hi32 = arith::ExtUIOp::create(b, loc, b.getI32Type(), hi);
            hi32 = arith::ShLIOp::create(b, loc, hi32, constI32(b, loc, 8));
            word = arith::OrIOp::create(b, loc, word, hi32);
          }
          Value code = arith::ShRUIOp::create(b, loc, word, shift);
          if (isSigned) {
            // Move the code's sign bit to bit 31, then shift back
            // arithmetically: sign extension without a mask.
            Value up = constI32(b, loc, 32 - bits);
            code = arith::ShLIOp::create(b, loc, code, up);
            code = arith::ShRSIOp::create(b, loc, code, up);
          } else {
            code = arith::AndIOp::create(b, loc, code,
                                         constI32(b, loc, (1 << bits) - 1));
          }
          Value byte = arith::TruncIOp::create(b, loc, b.getI8Type(), code);
          linalg::YieldOp::create(b, loc, byte);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// tessera.pack
//===----------------------------------------------------------------------===//

struct PackOpLowering : public OpConversionPattern<PackOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(PackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType logical = op.getCodes().getType();
    RankedTensorType resultType = op.getResult().getType();
    unsigned bits = logical.getElementTypeBitWidth();
    int64_t numElements = logical.getNumElements();

    // View the i8 codes as a flat vector.
    Value codes = adaptor.getCodes();
    if (logical.getRank() != 1) {
      ReassociationIndices all =
          llvm::to_vector(llvm::seq<int64_t>(0, logical.getRank()));
      auto flatType = RankedTensorType::get({numElements}, rewriter.getI8Type());
      codes = tensor::CollapseShapeOp::create(rewriter, loc, flatType, codes,
                                              ArrayRef<ReassociationIndices>{all});
    }

    Value init = emptyLike(rewriter, loc, resultType, Value());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, ValueRange{}, ValueRange{init},
        SmallVector<AffineMap>{rewriter.getMultiDimIdentityMap(1)},
        parallelIterators(1), [&](OpBuilder &b, Location loc, ValueRange) {
          // Byte j holds bits [8j, 8j + 8) of the stream: gather each bit
          // from the code that owns it.
          Value j = linalg::IndexOp::create(b, loc, 0);
          Value firstBit = arith::MulIOp::create(b, loc, j,
                                                 constIndex(b, loc, 8));
          Value byte = constI32(b, loc, 0);
          for (unsigned t = 0; t < 8; ++t) {
            Value bit = arith::AddIOp::create(b, loc, firstBit,
                                              constIndex(b, loc, t));
            Value elem = arith::DivUIOp::create(b, loc, bit,
                                                constIndex(b, loc, bits));
            Value bitInCode = arith::RemUIOp::create(b, loc, bit,
                                                     constIndex(b, loc, bits));
            Value valid = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::ult, elem,
                constIndex(b, loc, numElements));
            Value clamped = arith::MinUIOp::create(
                b, loc, elem, constIndex(b, loc, numElements - 1));
            Value code = tensor::ExtractOp::create(b, loc, codes, clamped);
            Value code32 = arith::ExtUIOp::create(b, loc, b.getI32Type(), code);
            Value shift = arith::IndexCastUIOp::create(b, loc, b.getI32Type(),
                                                       bitInCode);
            Value v = arith::ShRUIOp::create(b, loc, code32, shift);
            v = arith::AndIOp::create(b, loc, v, constI32(b, loc, 1));
            v = arith::SelectOp::create(b, loc, valid, v, constI32(b, loc, 0));
            v = arith::ShLIOp::create(b, loc, v, constI32(b, loc, t));
            byte = arith::OrIOp::create(b, loc, byte, v);
          }
          Value out = arith::TruncIOp::create(b, loc, b.getI8Type(), byte);
          linalg::YieldOp::create(b, loc, out);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// tessera.mpmm
//===----------------------------------------------------------------------===//

struct MpmmOpLowering : public OpConversionPattern<MpmmOp> {
  using OpConversionPattern::OpConversionPattern;

  /// Dequantizes the weights to an N x K f32 tensor. The generic iterates
  /// over (n, g, j) with k = g * G + j, so that scales and zero points
  /// indexed by (n, g) are broadcasts along j.
  Value dequantize(MpmmOp op, OpAdaptor adaptor, OpBuilder &rewriter) const {
    Location loc = op.getLoc();
    RankedTensorType wType = op.getWeights().getType();
    int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
    int64_t groupSize = op.getGroupSize(), numGroups = k / groupSize;
    bool signedCodes = op.hasSignedWeights();
    ZeroPointMode zeroMode = op.getZeroPointMode();
    bool signedZeros =
        zeroMode == ZeroPointMode::Int &&
        cast<RankedTensorType>(op.getZeros().getType())
            .getElementType()
            .isSignedInteger();
    Value codebook = adaptor.getCodebook();
    Type f32 = rewriter.getF32Type();

    auto grouped3D = [&](Type elementType) {
      return RankedTensorType::get({n, numGroups, groupSize}, elementType);
    };
    Value codes = tensor::ExpandShapeOp::create(
        rewriter, loc, grouped3D(rewriter.getI8Type()), adaptor.getWeights(),
        ArrayRef<ReassociationIndices>{{0}, {1, 2}});

    MLIRContext *ctx = rewriter.getContext();
    AffineMap full = AffineMap::getMultiDimIdentityMap(3, ctx);
    AffineMap perGroup = AffineMap::get(
        3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
    SmallVector<Value> inputs = {codes, adaptor.getScales()};
    SmallVector<AffineMap> maps = {full, perGroup};
    if (adaptor.getZeros()) {
      inputs.push_back(adaptor.getZeros());
      maps.push_back(perGroup);
    }
    maps.push_back(full);

    Value init = tensor::EmptyOp::create(rewriter, loc,
                                         ArrayRef<int64_t>{n, numGroups,
                                                           groupSize},
                                         f32);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{grouped3D(f32)}, inputs, ValueRange{init},
        maps, parallelIterators(3),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value code = args[0];
          Value scale = floatToF32(b, loc, args[1]);
          Value value;
          if (codebook) {
            Value idx = arith::ExtUIOp::create(b, loc, b.getI32Type(), code);
            idx = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), idx);
            value = floatToF32(b, loc,
                               tensor::ExtractOp::create(b, loc, codebook, idx));
          }
          Value deq;
          switch (zeroMode) {
          case ZeroPointMode::None:
            if (!value)
              value = intToF32(b, loc, code, signedCodes);
            deq = arith::MulFOp::create(b, loc, scale, value);
            break;
          case ZeroPointMode::Int: {
            Value zero = intToI32(b, loc, args[2], signedZeros);
            Value centered;
            if (value) {
              centered = arith::SubFOp::create(
                  b, loc, value, intToF32(b, loc, zero, /*isSigned=*/true));
            } else {
              // v - z of two 8-bit values is exact in i32: convert once.
              Value code32 = intToI32(b, loc, code, signedCodes);
              centered = intToF32(
                  b, loc, arith::SubIOp::create(b, loc, code32, zero),
                  /*isSigned=*/true);
            }
            deq = arith::MulFOp::create(b, loc, scale, centered);
            break;
          }
          case ZeroPointMode::Float:
            if (!value)
              value = intToF32(b, loc, code, signedCodes);
            deq = arith::AddFOp::create(
                b, loc, arith::MulFOp::create(b, loc, scale, value),
                floatToF32(b, loc, args[2]));
            break;
          }
          linalg::YieldOp::create(b, loc, deq);
        });
    return tensor::CollapseShapeOp::create(
        rewriter, loc, RankedTensorType::get({n, k}, f32),
        generic.getResult(0), ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  }

  /// An elementwise cast of `src` to `dstType` (extf or truncf).
  static Value castFloatTensor(OpBuilder &b, Location loc, Value src,
                               RankedTensorType dstType) {
    auto srcType = cast<RankedTensorType>(src.getType());
    unsigned rank = srcType.getRank();
    Value init = emptyLike(b, loc, dstType, src);
    AffineMap id = b.getMultiDimIdentityMap(rank);
    return linalg::GenericOp::create(
               b, loc, TypeRange{dstType}, ValueRange{src}, ValueRange{init},
               SmallVector<AffineMap>{id, id}, parallelIterators(rank),
               [&](OpBuilder &b, Location loc, ValueRange args) {
                 Type dst = dstType.getElementType();
                 Value v =
                     dst.getIntOrFloatBitWidth() >
                             args[0].getType().getIntOrFloatBitWidth()
                         ? Value(arith::ExtFOp::create(b, loc, dst, args[0]))
                         : Value(arith::TruncFOp::create(b, loc, dst, args[0]));
                 linalg::YieldOp::create(b, loc, v);
               })
        .getResult(0);
  }

  LogicalResult
  matchAndRewrite(MpmmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value weights = dequantize(op, adaptor, rewriter);

    RankedTensorType resultType = op.getResult().getType();
    Value acc = adaptor.getInit();
    bool f32Result = resultType.getElementType().isF32();
    if (!f32Result)
      acc = castFloatTensor(rewriter, loc, acc,
                            resultType.clone(rewriter.getF32Type()));

    // Y[m, n] += X[m, k] * D[n, k], in f32.
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr m = getAffineDimExpr(0, ctx), nn = getAffineDimExpr(1, ctx),
               kk = getAffineDimExpr(2, ctx);
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {m, kk}, ctx),
                                   AffineMap::get(3, 0, {nn, kk}, ctx),
                                   AffineMap::get(3, 0, {m, nn}, ctx)};
    auto matmul = linalg::GenericOp::create(
        rewriter, loc, TypeRange{acc.getType()},
        ValueRange{adaptor.getX(), weights}, ValueRange{acc}, maps,
        {IteratorType::parallel, IteratorType::parallel,
         IteratorType::reduction},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value x = floatToF32(b, loc, args[0]);
          Value prod = arith::MulFOp::create(b, loc, x, args[1]);
          linalg::YieldOp::create(b, loc,
                                  arith::AddFOp::create(b, loc, args[2], prod)
                                      .getResult());
        });
    Value result = matmul.getResult(0);
    if (!f32Result)
      result = castFloatTensor(rewriter, loc, result, resultType);
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Low-bit constants
//===----------------------------------------------------------------------===//

struct LowBitConstantLowering : public OpConversionPattern<arith::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(arith::ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    auto dense = dyn_cast<DenseIntElementsAttr>(op.getValue());
    if (!type || !dense || !isLowBitIntegerType(type.getElementType()))
      return rewriter.notifyMatchFailure(op, "not a dense low-bit constant");
    bool isSigned = type.getElementType().isSignedInteger();
    auto newType = cast<RankedTensorType>(getTypeConverter()->convertType(type));
    SmallVector<APInt> values;
    values.reserve(dense.getNumElements());
    for (const APInt &v : dense.getValues<APInt>())
      values.push_back(isSigned ? v.sext(8) : v.zext(8));
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, newType, DenseElementsAttr::get(newType, values));
    return success();
  }
};

struct TesseraLowerToLinalgPass
    : public mlir::tessera::impl::TesseraLowerToLinalgBase<TesseraLowerToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    LowBitTypeConverter typeConverter;
    // Function signatures are the business of the boundary pass.
    WalkResult signatures = getOperation().walk([&](FunctionOpInterface fn) {
      for (Type t : llvm::concat<const Type>(fn.getArgumentTypes(),
                                       fn.getResultTypes())) {
        if (!typeConverter.isLegal(t)) {
          fn.emitOpError("has low-bit tensor ")
              << t << " in its signature; run "
              << "tessera-pack-function-boundaries first";
          return WalkResult::interrupt();
        }
      }
      return WalkResult::advance();
    });
    if (signatures.wasInterrupted())
      return signalPassFailure();

    ConversionTarget target(*ctx);
    target.addIllegalDialect<TesseraDialect>();
    // Any other op is legal once no low-bit tensor flows through it.
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return typeConverter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    patterns.add<UnpackOpLowering, PackOpLowering, MpmmOpLowering,
                 LowBitConstantLowering>(typeConverter, ctx);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
