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

#include "PackedCodes.h"
#include "StructuredToLinalg.h"
#include "tessera/Support/BitPacking.h"
#include "tessera/Support/FloatFormat.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

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
      if (!isLowBitType(type.getElementType()))
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
// Layout index arithmetic (shared by pack and unpack)
//===----------------------------------------------------------------------===//

/// Index arithmetic of a PackedLayout over a static shape, emitted as arith
/// ops on `index` values: the enumeration order (tiles, then elements in a
/// tile) and where element e of it lives in storage.
struct LayoutIndexing {
  SmallVector<int64_t> shape, tile, grid;
  int64_t tileElements = 1, numElements = 1;
  unsigned bits;
  bool bitPlanes;
  int64_t planeBytes;

  LayoutIndexing(RankedTensorType logical, const PackedLayout &layout)
      : shape(logical.getShape()), bits(getLowBitWidth(logical.getElementType())),
        bitPlanes(layout.bitPlanes) {
    tile = layout.tile.empty() ? shape
                               : SmallVector<int64_t>(layout.tile.begin(),
                                                      layout.tile.end());
    for (auto [s, t] : llvm::zip(shape, tile)) {
      grid.push_back(s / t);
      tileElements *= t;
      numElements *= s;
    }
    planeBytes = (tileElements + 7) / 8;
  }
  bool isTiled() const { return tile != shape; }

  /// Row-major linearization of `index` over `sizes`.
  static Value linearize(OpBuilder &b, Location loc, ArrayRef<Value> index,
                         ArrayRef<int64_t> sizes) {
    Value flat = constIndex(b, loc, 0);
    for (auto [i, size] : llvm::zip(index, sizes)) {
      flat = arith::MulIOp::create(b, loc, flat, constIndex(b, loc, size));
      flat = arith::AddIOp::create(b, loc, flat, i);
    }
    return flat;
  }

  /// (tile number, offset in tile) of the element at `index`.
  std::pair<Value, Value> tileAndOffset(OpBuilder &b, Location loc,
                                        ArrayRef<Value> index) const {
    SmallVector<Value> q, r;
    for (auto [i, t] : llvm::zip(index, tile)) {
      q.push_back(arith::DivUIOp::create(b, loc, i, constIndex(b, loc, t)));
      r.push_back(arith::RemUIOp::create(b, loc, i, constIndex(b, loc, t)));
    }
    return {linearize(b, loc, q, grid), linearize(b, loc, r, tile)};
  }

  /// Row-major flat index of element `e` of the enumeration.
  Value flatIndexOf(OpBuilder &b, Location loc, Value e) const {
    if (!isTiled())
      return e;
    Value t = arith::DivUIOp::create(b, loc, e, constIndex(b, loc, tileElements));
    Value o = arith::RemUIOp::create(b, loc, e, constIndex(b, loc, tileElements));
    SmallVector<Value> index(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
      Value gq = arith::RemUIOp::create(b, loc, t, constIndex(b, loc, grid[d]));
      Value tq = arith::RemUIOp::create(b, loc, o, constIndex(b, loc, tile[d]));
      index[d] = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, gq, constIndex(b, loc, tile[d])),
          tq);
      t = arith::DivUIOp::create(b, loc, t, constIndex(b, loc, grid[d]));
      o = arith::DivUIOp::create(b, loc, o, constIndex(b, loc, tile[d]));
    }
    return linearize(b, loc, index, shape);
  }
};

/// Reads bit `bitIndex` (an index) of `storage` as an i32 0 or 1.
Value readBit(OpBuilder &b, Location loc, Value storage, Value bitIndex) {
  Value byteIdx = arith::ShRUIOp::create(b, loc, bitIndex, constIndex(b, loc, 3));
  Value shift = arith::IndexCastUIOp::create(
      b, loc, b.getI32Type(),
      arith::AndIOp::create(b, loc, bitIndex, constIndex(b, loc, 7)));
  Value byte = arith::ExtUIOp::create(
      b, loc, b.getI32Type(), tensor::ExtractOp::create(b, loc, storage, byteIdx));
  Value bit = arith::ShRUIOp::create(b, loc, byte, shift);
  return arith::AndIOp::create(b, loc, bit, constI32(b, loc, 1));
}

PackedLayout layoutOf(std::optional<LayoutAttr> attr) {
  return attr ? attr->getPackedLayout() : PackedLayout();
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
    LayoutIndexing layout(logical, layoutOf(op.getLayout()));
    unsigned bits = layout.bits;
    bool isSigned = logical.getElementType().isSignedInteger();
    Value storage = adaptor.getStorage();

    unsigned rank = logical.getRank();
    Value init = emptyLike(rewriter, loc, resultType, Value());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, ValueRange{}, ValueRange{init},
        SmallVector<AffineMap>{rewriter.getMultiDimIdentityMap(rank)},
        parallelIterators(rank),
        [&](OpBuilder &b, Location loc, ValueRange) {
          SmallVector<Value> index;
          for (unsigned d = 0; d < rank; ++d)
            index.push_back(linalg::IndexOp::create(b, loc, d));
          auto [t, o] = layout.tileAndOffset(b, loc, index);
          Value code;
          if (layout.bitPlanes) {
            // Bit p of the code is bit o of plane p of tile t.
            code = constI32(b, loc, 0);
            for (unsigned p = 0; p < bits; ++p) {
              Value plane = arith::AddIOp::create(
                  b, loc,
                  arith::MulIOp::create(b, loc, t, constIndex(b, loc, bits)),
                  constIndex(b, loc, p));
              Value bitIndex = arith::AddIOp::create(
                  b, loc,
                  arith::MulIOp::create(b, loc, plane,
                                        constIndex(b, loc, layout.planeBytes * 8)),
                  o);
              Value bit = readBit(b, loc, storage, bitIndex);
              bit = arith::ShLIOp::create(b, loc, bit, constI32(b, loc, p));
              code = arith::OrIOp::create(b, loc, code, bit);
            }
          } else {
            // Element e = t * T + o of the enumeration.
            Value e = arith::AddIOp::create(
                b, loc,
                arith::MulIOp::create(b, loc, t,
                                      constIndex(b, loc, layout.tileElements)),
                o);
            code = emitReadPackedCode(b, loc, storage, e, bits, isSigned);
          }
          if (layout.bitPlanes && isSigned) {
            // Sign-extend the assembled bit-plane code.
            Value up = constI32(b, loc, 32 - bits);
            code = arith::ShLIOp::create(b, loc, code, up);
            code = arith::ShRSIOp::create(b, loc, code, up);
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
    LayoutIndexing layout(logical, layoutOf(op.getLayout()));
    unsigned bits = layout.bits;
    int64_t numElements = layout.numElements;

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
          Value j = linalg::IndexOp::create(b, loc, 0);
          // For each of the 8 bits of byte j: which element (in enumeration
          // order) and which bit of its code it holds.
          Value element, codeBit, bitBase;
          if (layout.bitPlanes) {
            int64_t tileBytes = bits * layout.planeBytes;
            Value t = arith::DivUIOp::create(b, loc, j, constIndex(b, loc, tileBytes));
            Value rem = arith::RemUIOp::create(b, loc, j, constIndex(b, loc, tileBytes));
            codeBit = arith::DivUIOp::create(b, loc, rem,
                                             constIndex(b, loc, layout.planeBytes));
            Value byteInPlane = arith::RemUIOp::create(
                b, loc, rem, constIndex(b, loc, layout.planeBytes));
            element = arith::MulIOp::create(
                b, loc, t, constIndex(b, loc, layout.tileElements));
            bitBase = arith::MulIOp::create(b, loc, byteInPlane,
                                            constIndex(b, loc, 8));
          } else {
            bitBase = arith::MulIOp::create(b, loc, j, constIndex(b, loc, 8));
          }
          Value byte = constI32(b, loc, 0);
          for (unsigned u = 0; u < 8; ++u) {
            Value pos = arith::AddIOp::create(b, loc, bitBase,
                                              constIndex(b, loc, u));
            Value e, bitInCode, valid;
            if (layout.bitPlanes) {
              // Bit u of the plane byte is element o = 8 * byte + u of tile t.
              valid = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::ult, pos,
                  constIndex(b, loc, layout.tileElements));
              Value o = arith::MinUIOp::create(
                  b, loc, pos, constIndex(b, loc, layout.tileElements - 1));
              e = arith::AddIOp::create(b, loc, element, o);
              bitInCode = codeBit;
            } else {
              // Bit `pos` of the stream is bit pos % b of element pos / b.
              e = arith::DivUIOp::create(b, loc, pos, constIndex(b, loc, bits));
              bitInCode = arith::RemUIOp::create(b, loc, pos,
                                                 constIndex(b, loc, bits));
              valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                            e, constIndex(b, loc, numElements));
              e = arith::MinUIOp::create(b, loc, e,
                                         constIndex(b, loc, numElements - 1));
            }
            Value flat = layout.flatIndexOf(b, loc, e);
            Value code = tensor::ExtractOp::create(b, loc, codes, flat);
            Value code32 = arith::ExtUIOp::create(b, loc, b.getI32Type(), code);
            Value shift = arith::IndexCastUIOp::create(b, loc, b.getI32Type(),
                                                       bitInCode);
            Value v = arith::ShRUIOp::create(b, loc, code32, shift);
            v = arith::AndIOp::create(b, loc, v, constI32(b, loc, 1));
            v = arith::SelectOp::create(b, loc, valid, v, constI32(b, loc, 0));
            v = arith::ShLIOp::create(b, loc, v, constI32(b, loc, u));
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
// Group-wise dequantization (tessera.dequantize, and the first half of mpmm)
//===----------------------------------------------------------------------===//

/// What the dequantizing generic needs to know about its operands; the
/// values are the converted (i8-code) ones.
struct GroupQuantization {
  Type codeType;  // the logical code type (siN, uiN or a float format)
  Type zerosType; // the logical zero-point element type, or null
  Value codes, scales, zeros, codebook;
  int64_t groupSize;
};

/// Maps (n, g, j) to (n, g): per-group operands broadcast along j.
AffineMap perGroupMap(MLIRContext *ctx) {
  return AffineMap::get(3, 0,
                        {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)},
                        ctx);
}

/// Views an N x K tensor as N x K/G x G.
Value expandGroups(OpBuilder &b, Location loc, Value v, int64_t groupSize) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t n = type.getDimSize(0), k = type.getDimSize(1);
  return tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({n, k / groupSize, groupSize},
                            type.getElementType()),
      v, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
}

/// Folds N x K/G x G back to N x K.
Value collapseGroups(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  return tensor::CollapseShapeOp::create(
      b, loc,
      RankedTensorType::get({type.getDimSize(0),
                             type.getDimSize(1) * type.getDimSize(2)},
                            type.getElementType()),
      v, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
}

/// The decode table of a float format as an f32 constant tensor.
Value decodeTableConstant(OpBuilder &b, Location loc, const FloatFormat &f) {
  std::vector<float> table = f.decodeTable();
  auto type = RankedTensorType::get({int64_t(table.size())}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, ArrayRef<float>(table)));
}

/// Builds deq(n, k) as an N x K f32 tensor, iterating over (n, g, j) with
/// k = g * G + j so that scales and zero points indexed by (n, g) are
/// broadcasts along j.
Value buildDequantize(OpBuilder &rewriter, Location loc,
                      const GroupQuantization &q) {
  MLIRContext *ctx = rewriter.getContext();
  Type f32 = rewriter.getF32Type();
  bool signedCodes = q.codeType.isSignedInteger();
  bool signedZeros = q.zerosType && q.zerosType.isSignedInteger();
  ZeroPointMode zeroMode = !q.zeros ? ZeroPointMode::None
                           : isa<IntegerType>(q.zerosType)
                               ? ZeroPointMode::Int
                               : ZeroPointMode::Float;
  Value table = q.codebook;
  if (FailureOr<FloatFormat> format = getFloatFormat(q.codeType);
      succeeded(format))
    table = decodeTableConstant(rewriter, loc, *format);

  Value codes = expandGroups(rewriter, loc, q.codes, q.groupSize);
  auto codesType = cast<RankedTensorType>(codes.getType());
  AffineMap full = AffineMap::getMultiDimIdentityMap(3, ctx);
  SmallVector<Value> inputs = {codes, q.scales};
  SmallVector<AffineMap> maps = {full, perGroupMap(ctx)};
  if (q.zeros) {
    inputs.push_back(q.zeros);
    maps.push_back(perGroupMap(ctx));
  }
  maps.push_back(full);

  Value init =
      tensor::EmptyOp::create(rewriter, loc, codesType.getShape(), f32);
  auto generic = linalg::GenericOp::create(
      rewriter, loc, TypeRange{codesType.clone(f32)}, inputs, ValueRange{init},
      maps, parallelIterators(3),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value code = args[0];
        Value scale = floatToF32(b, loc, args[1]);
        // v(q): a table entry (codebook or float format) or the integer.
        Value value;
        if (table) {
          Value idx = arith::IndexCastUIOp::create(b, loc, b.getIndexType(),
                                                   code);
          value = floatToF32(b, loc,
                             tensor::ExtractOp::create(b, loc, table, idx));
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
            centered =
                intToF32(b, loc, arith::SubIOp::create(b, loc, code32, zero),
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
  return collapseGroups(rewriter, loc, generic.getResult(0));
}

Type elementTypeOf(Value v) {
  return v ? cast<ShapedType>(v.getType()).getElementType() : Type();
}

struct DequantizeOpLowering : public OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    GroupQuantization q{op.getCodes().getType().getElementType(),
                        elementTypeOf(op.getZeros()),
                        adaptor.getCodes(),
                        adaptor.getScales(),
                        adaptor.getZeros(),
                        adaptor.getCodebook(),
                        int64_t(op.getGroupSize())};
    rewriter.replaceOp(op, buildDequantize(rewriter, op.getLoc(), q));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// tessera.mpmm
//===----------------------------------------------------------------------===//

/// An elementwise cast of `src` to `dstType` (extf or truncf).
Value castFloatTensor(OpBuilder &b, Location loc, Value src,
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

struct MpmmOpLowering : public OpConversionPattern<MpmmOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MpmmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    GroupQuantization q{op.getWeights().getType().getElementType(),
                        elementTypeOf(op.getZeros()),
                        adaptor.getWeights(),
                        adaptor.getScales(),
                        adaptor.getZeros(),
                        adaptor.getCodebook(),
                        int64_t(op.getGroupSize())};
    Value weights = buildDequantize(rewriter, loc, q);

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
// LUT ops (the reference lowering of the T-MAC strategy)
//===----------------------------------------------------------------------===//

/// A tensor of `type`'s shape with the last dimension `dim` of `src` split
/// into (dim / inner, inner).
Value splitLastDim(OpBuilder &b, Location loc, Value src, int64_t inner) {
  auto type = cast<RankedTensorType>(src.getType());
  SmallVector<int64_t> shape(type.getShape());
  int64_t last = shape.back();
  shape.back() = last / inner;
  shape.push_back(inner);
  SmallVector<ReassociationIndices> reassoc;
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    reassoc.push_back({i});
  reassoc.push_back({type.getRank() - 1, type.getRank()});
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), src, reassoc);
}

/// A tensor of `type` filled with `value`; its dynamic dimension (at most
/// one, of any index) has the size of dimension 0 of `dimFrom`.
Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type, Value dimFrom,
                   Attribute value) {
  SmallVector<Value> dyn;
  if (type.getNumDynamicDims() == 1)
    dyn.push_back(tensor::DimOp::create(b, loc, dimFrom, 0));
  assert(type.getNumDynamicDims() <= 1 && "at most one dynamic dimension");
  Value empty = tensor::EmptyOp::create(b, loc, type.getShape(),
                                        type.getElementType(), dyn);
  Value c = arith::ConstantOp::create(b, loc, cast<TypedAttr>(value));
  return linalg::FillOp::create(b, loc, ValueRange{c}, ValueRange{empty}).getResult(0);
}

struct LutTablesOpLowering : public OpConversionPattern<LutTablesOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LutTablesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type f32 = rewriter.getF32Type();
    Value x = adaptor.getX();
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t m = xType.getDimSize(0), k = xType.getDimSize(1);
    int64_t group = op.getGroupSize(), groups = k / group, runs = group / 4;
    Attribute zeroF = rewriter.getF32FloatAttr(0);
    AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
               d2 = getAffineDimExpr(2, ctx);

    // x as M x groups x runs x 4: one input per position t of a run.
    Value xRuns = splitLastDim(rewriter, loc, splitLastDim(rewriter, loc, x, group), 4);
    SmallVector<Value> runInputs(4, xRuns);
    auto runOperandMaps = [&](unsigned numDims) {
      SmallVector<AffineMap> maps;
      for (int64_t t = 0; t < 4; ++t)
        maps.push_back(AffineMap::get(
            numDims, 0,
            {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx), getAffineDimExpr(2, ctx),
             getAffineConstantExpr(t, ctx)},
            ctx));
      return maps;
    };

    Value codebook = adaptor.getCodebook();
    int64_t perGroup = codebook ? group : runs; // tables per group
    auto tablesType = RankedTensorType::get({m, groups, perGroup, 16}, f32);
    Value tablesInit = filledTensor(rewriter, loc, tablesType, x, zeroF);
    Value xGroups = splitLastDim(rewriter, loc, x, group);
    AffineMap groupIn3 = AffineMap::get(4, 0, {d0, d1, d2}, ctx);
    Value tables, cbAbsMax;
    if (codebook) {
      // Per activation: T[m, g, k, q] = x * codebook[q] (0 past its end).
      int64_t entries = cast<RankedTensorType>(codebook.getType()).getDimSize(0);
      tables =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{tablesType}, ValueRange{xGroups}, ValueRange{tablesInit},
              SmallVector<AffineMap>{groupIn3, rewriter.getMultiDimIdentityMap(4)},
              parallelIterators(4),
              [&](OpBuilder &b, Location loc, ValueRange args) {
                Value q = linalg::IndexOp::create(b, loc, 3);
                Value last = constIndex(b, loc, entries - 1);
                Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, q, last);
                Value entry = floatToF32(
                    b, loc,
                    tensor::ExtractOp::create(b, loc, codebook,
                                              ValueRange{arith::MinUIOp::create(b, loc, q, last)}));
                Value v = arith::MulFOp::create(b, loc, floatToF32(b, loc, args[0]), entry);
                Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
                linalg::YieldOp::create(
                    b, loc, arith::SelectOp::create(b, loc, inside, v, zero).getResult());
              })
              .getResult(0);
      // max_q |codebook[q]|, for the int8 table scale.
      auto scalarType = RankedTensorType::get({}, f32);
      Value init = linalg::FillOp::create(
                       rewriter, loc, ValueRange{arith::ConstantOp::create(rewriter, loc, cast<TypedAttr>(zeroF)).getResult()},
                       ValueRange{tensor::EmptyOp::create(rewriter, loc, ArrayRef<int64_t>{}, f32)})
                       .getResult(0);
      Value cbMax =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{scalarType}, ValueRange{codebook}, ValueRange{init},
              SmallVector<AffineMap>{rewriter.getMultiDimIdentityMap(1),
                                     AffineMap::get(1, 0, {}, ctx)},
              {IteratorType::reduction},
              [&](OpBuilder &b, Location loc, ValueRange args) {
                Value a = math::AbsFOp::create(b, loc, floatToF32(b, loc, args[0]));
                linalg::YieldOp::create(
                    b, loc, arith::MaximumFOp::create(b, loc, args[1], a).getResult());
              })
              .getResult(0);
      cbAbsMax = tensor::ExtractOp::create(rewriter, loc, cbMax, ValueRange{});
    } else {
    // The f32 tables over (m, g, j, p): mirror symmetry, T[15 - p] = -T[p],
    // so entry p is +/- the sum for p' = min(p, 15 - p), which has bit 3
    // clear (x3 subtracted).
    SmallVector<AffineMap> maps = runOperandMaps(4);
    maps.push_back(rewriter.getMultiDimIdentityMap(4));
    tables =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{tablesType}, runInputs, ValueRange{tablesInit},
            maps, parallelIterators(4),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value p = linalg::IndexOp::create(b, loc, 3);
              Value c8 = constIndex(b, loc, 8);
              Value upper = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, p, c8);
              Value half = arith::SelectOp::create(
                  b, loc, upper, arith::SubIOp::create(b, loc, constIndex(b, loc, 15), p), p);
              Value sum = arith::NegFOp::create(b, loc, floatToF32(b, loc, args[3]));
              for (int64_t t = 0; t < 3; ++t) {
                Value bit = arith::AndIOp::create(
                    b, loc, arith::ShRUIOp::create(b, loc, half, constIndex(b, loc, t)),
                    constIndex(b, loc, 1));
                Value set = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, bit,
                                                  constIndex(b, loc, 0));
                Value xt = floatToF32(b, loc, args[t]);
                sum = arith::AddFOp::create(
                    b, loc, sum,
                    arith::SelectOp::create(b, loc, set, xt, arith::NegFOp::create(b, loc, xt)));
              }
              Value v = arith::SelectOp::create(b, loc, upper,
                                                arith::NegFOp::create(b, loc, sum), sum);
              linalg::YieldOp::create(b, loc, v);
            })
            .getResult(0);
    }

    // sums[m, g] = sum of the group's x.
    auto groupType = RankedTensorType::get({m, groups}, f32);
    AffineMap groupOut = AffineMap::get(4, 0, {d0, d1}, ctx);
    SmallVector<AffineMap> sumMaps = {AffineMap::getMultiDimIdentityMap(4, ctx), groupOut};
    SmallVector<IteratorType> reduceRuns = {IteratorType::parallel, IteratorType::parallel,
                                            IteratorType::reduction, IteratorType::reduction};
    Value sums =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{groupType}, ValueRange{xRuns},
            ValueRange{filledTensor(rewriter, loc, groupType, x, zeroF)}, sumMaps, reduceRuns,
            [&](OpBuilder &b, Location loc, ValueRange args) {
              linalg::YieldOp::create(
                  b, loc,
                  arith::AddFOp::create(b, loc, args[1], floatToF32(b, loc, args[0]))
                      .getResult());
            })
            .getResult(0);

    auto collapseTables = [&](Value t) {
      auto type = cast<RankedTensorType>(t.getType());
      return tensor::CollapseShapeOp::create(
          rewriter, loc,
          RankedTensorType::get({m, groups * perGroup, 16}, type.getElementType()), t,
          ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
    };
    if (op.getTables().getType().getElementType().isF32()) {
      Value ones = filledTensor(rewriter, loc, groupType, x, rewriter.getF32FloatAttr(1));
      rewriter.replaceOp(op, {collapseTables(tables), ones, sums});
      return success();
    }

    // Int8 tables: a[m, g] = max over the group's runs of sum_t |x| (with a
    // codebook: max |x| * max |codebook|), the largest |entry|; scale
    // a / 127; entries roundeven(T * (127 / a)).
    Value amax;
    if (codebook) {
      amax = linalg::GenericOp::create(
                 rewriter, loc, TypeRange{groupType}, ValueRange{xGroups},
                 ValueRange{filledTensor(rewriter, loc, groupType, x, zeroF)},
                 SmallVector<AffineMap>{rewriter.getMultiDimIdentityMap(3),
                                        AffineMap::get(3, 0, {d0, d1}, ctx)},
                 {IteratorType::parallel, IteratorType::parallel, IteratorType::reduction},
                 [&](OpBuilder &b, Location loc, ValueRange args) {
                   Value a = arith::MulFOp::create(
                       b, loc, math::AbsFOp::create(b, loc, floatToF32(b, loc, args[0])),
                       cbAbsMax);
                   linalg::YieldOp::create(
                       b, loc, arith::MaximumFOp::create(b, loc, args[1], a).getResult());
                 })
                 .getResult(0);
    } else {
    SmallVector<AffineMap> amaxMaps = runOperandMaps(3);
    amaxMaps.push_back(AffineMap::get(3, 0, {d0, d1}, ctx));
    amax =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{groupType}, runInputs,
            ValueRange{filledTensor(rewriter, loc, groupType, x, zeroF)}, amaxMaps,
            {IteratorType::parallel, IteratorType::parallel, IteratorType::reduction},
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value sum;
              for (int64_t t = 0; t < 4; ++t) {
                Value a = math::AbsFOp::create(b, loc, floatToF32(b, loc, args[t]));
                sum = sum ? Value(arith::AddFOp::create(b, loc, sum, a)) : a;
              }
              linalg::YieldOp::create(
                  b, loc, arith::MaximumFOp::create(b, loc, args[4], sum).getResult());
            })
            .getResult(0);
    }
    Value c127 = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(127));
    AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
    Value tableScales =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{groupType}, ValueRange{amax},
            ValueRange{filledTensor(rewriter, loc, groupType, x, zeroF)},
            SmallVector<AffineMap>{id2, id2}, parallelIterators(2),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              linalg::YieldOp::create(
                  b, loc, arith::DivFOp::create(b, loc, args[0], c127).getResult());
            })
            .getResult(0);
    auto i8TablesType = RankedTensorType::get({m, groups, perGroup, 16}, rewriter.getI8Type());
    Value i8Init = filledTensor(rewriter, loc, i8TablesType, x, rewriter.getI8IntegerAttr(0));
    AffineMap id4 = rewriter.getMultiDimIdentityMap(4);
    Value i8Tables =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{i8TablesType}, ValueRange{tables, amax},
            ValueRange{i8Init},
            SmallVector<AffineMap>{id4, AffineMap::get(4, 0, {d0, d1}, ctx), id4},
            parallelIterators(4),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
              Value positive =
                  arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, args[1], zero);
              Value inv = arith::DivFOp::create(b, loc, c127, args[1]);
              Value q = math::RoundEvenOp::create(
                  b, loc, arith::MulFOp::create(b, loc, args[0], inv));
              q = arith::SelectOp::create(b, loc, positive, q, zero);
              linalg::YieldOp::create(
                  b, loc, arith::FPToSIOp::create(b, loc, b.getI8Type(), q).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, {collapseTables(i8Tables), tableScales, sums});
    return success();
  }
};

struct LutAccumulateOpLowering : public OpConversionPattern<LutAccumulateOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LutAccumulateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType resultType = op.getResult().getType();
    bool f32Tables = resultType.getElementType().isF32();
    // Per-activation (codebook) tables are indexed by one code, the others
    // by 4 bits of a plane at a run of 4 codes.
    bool direct = op.isDirect();
    int64_t width = direct ? 1 : 4;
    int64_t group = op.getGroupSize(), runs = group / width;
    // Weights (i8 codes) as N x groups x runs (x 4); tables as M x groups x
    // runs x 16, read by tensor.extract at the looked-up entry.
    Value w = splitLastDim(rewriter, loc, adaptor.getWeights(), group);
    if (!direct)
      w = splitLastDim(rewriter, loc, w, 4);
    Value tables = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({cast<RankedTensorType>(adaptor.getTables().getType())
                                   .getDimSize(0),
                               resultType.getDimSize(3), runs, 16},
                              cast<RankedTensorType>(adaptor.getTables().getType())
                                  .getElementType()),
        adaptor.getTables(), ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
    // Iterate over (i, m, n, g, j).
    SmallVector<AffineMap> maps;
    for (int64_t t = 0; t < width; ++t) {
      SmallVector<AffineExpr> exprs = {getAffineDimExpr(2, ctx), getAffineDimExpr(3, ctx),
                                       getAffineDimExpr(4, ctx)};
      if (!direct)
        exprs.push_back(getAffineConstantExpr(t, ctx));
      maps.push_back(AffineMap::get(5, 0, exprs, ctx));
    }
    maps.push_back(AffineMap::get(5, 0,
                                  {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx),
                                   getAffineDimExpr(2, ctx), getAffineDimExpr(3, ctx)},
                                  ctx));
    Attribute zero = f32Tables ? Attribute(rewriter.getF32FloatAttr(0))
                               : Attribute(rewriter.getI32IntegerAttr(0));
    Value init = filledTensor(rewriter, loc, resultType, adaptor.getTables(), zero);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, SmallVector<Value>(width, w), ValueRange{init},
        maps,
        {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
         IteratorType::parallel, IteratorType::reduction},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value plane = arith::IndexCastUIOp::create(b, loc, b.getI32Type(),
                                                     linalg::IndexOp::create(b, loc, 0));
          Value p = direct ? Value(arith::ExtUIOp::create(b, loc, b.getI32Type(), args[0]))
                           : constI32(b, loc, 0);
          for (int64_t t = 0; t < width && !direct; ++t) {
            Value code = arith::ExtUIOp::create(b, loc, b.getI32Type(), args[t]);
            Value bit = arith::AndIOp::create(
                b, loc, arith::ShRUIOp::create(b, loc, code, plane), constI32(b, loc, 1));
            p = arith::OrIOp::create(b, loc, p,
                                     arith::ShLIOp::create(b, loc, bit, constI32(b, loc, t)));
          }
          Value entry = tensor::ExtractOp::create(
              b, loc, tables,
              ValueRange{linalg::IndexOp::create(b, loc, 1), linalg::IndexOp::create(b, loc, 3),
                         linalg::IndexOp::create(b, loc, 4),
                         arith::IndexCastUIOp::create(b, loc, b.getIndexType(), p)});
          Value acc = args[width];
          Value sum = f32Tables
                          ? Value(arith::AddFOp::create(b, loc, acc, entry))
                          : Value(arith::AddIOp::create(
                                b, loc, acc,
                                arith::ExtSIOp::create(b, loc, b.getI32Type(), entry)));
          linalg::YieldOp::create(b, loc, sum);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct LutCombineOpLowering : public OpConversionPattern<LutCombineOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LutCombineOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type codeType = op.getCodeType();
    unsigned bits = getLowBitWidth(codeType);
    bool signedCodes = codeType.isSignedInteger();
    ZeroPointMode zeroMode = op.getZeroPointMode();
    Type zerosType = elementTypeOf(op.getZeros());
    // Plane weights c_i = w_i / 2 and C = sum_i c_i.
    SmallVector<double> c;
    double cSum = 0;
    if (op.getDirect()) {
      // One plane that already holds sum x * v(q) in table-scale units.
      bits = 1;
      c.push_back(1.0);
    }
    for (unsigned i = 0; i < bits && !op.getDirect(); ++i) {
      double w = std::ldexp(1.0, i);
      if (signedCodes && i + 1 == bits)
        w = -w;
      c.push_back(w / 2);
      cSum += w / 2;
    }
    RankedTensorType resultType = op.getResult().getType();
    Value acc = adaptor.getInit();
    bool f32Result = resultType.getElementType().isF32();
    if (!f32Result)
      acc = castFloatTensor(rewriter, loc, acc, resultType.clone(rewriter.getF32Type()));

    // Iterate over (m, n, g).
    AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
               g = getAffineDimExpr(2, ctx);
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (unsigned i = 0; i < bits; ++i) {
      inputs.push_back(adaptor.getAcc());
      maps.push_back(AffineMap::get(3, 0, {getAffineConstantExpr(i, ctx), m, n, g}, ctx));
    }
    inputs.append({adaptor.getTableScales(), adaptor.getSums(), adaptor.getScales()});
    maps.append({AffineMap::get(3, 0, {m, g}, ctx), AffineMap::get(3, 0, {m, g}, ctx),
                 AffineMap::get(3, 0, {n, g}, ctx)});
    if (adaptor.getZeros()) {
      inputs.push_back(adaptor.getZeros());
      maps.push_back(AffineMap::get(3, 0, {n, g}, ctx));
    }
    maps.push_back(AffineMap::get(3, 0, {m, n}, ctx));
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{acc.getType()}, inputs, ValueRange{acc}, maps,
        {IteratorType::parallel, IteratorType::parallel, IteratorType::reduction},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          auto f32Const = [&](double v) -> Value {
            return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
          };
          Value planes;
          for (unsigned i = 0; i < bits; ++i) {
            Value a = args[i];
            if (!a.getType().isF32())
              a = arith::SIToFPOp::create(b, loc, b.getF32Type(), a);
            Value term = arith::MulFOp::create(b, loc, a, f32Const(c[i]));
            planes = planes ? Value(arith::AddFOp::create(b, loc, planes, term)) : term;
          }
          Value ts = args[bits], sum = args[bits + 1];
          Value scale = floatToF32(b, loc, args[bits + 2]);
          Value p = arith::MulFOp::create(b, loc, ts, planes);
          Value offset = f32Const(cSum);
          if (zeroMode == ZeroPointMode::Int)
            offset = arith::SubFOp::create(
                b, loc, offset,
                intToF32(b, loc, args[bits + 3], zerosType.isSignedInteger()));
          Value v = arith::MulFOp::create(
              b, loc, scale,
              arith::AddFOp::create(b, loc, p, arith::MulFOp::create(b, loc, offset, sum)));
          if (zeroMode == ZeroPointMode::Float)
            v = arith::AddFOp::create(
                b, loc, v,
                arith::MulFOp::create(b, loc, floatToF32(b, loc, args[bits + 3]), sum));
          linalg::YieldOp::create(
              b, loc, arith::AddFOp::create(b, loc, args.back(), v).getResult());
        });
    Value result = generic.getResult(0);
    if (!f32Result)
      result = castFloatTensor(rewriter, loc, result, resultType);
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Low-bit constants
//===----------------------------------------------------------------------===//

/// Low-bit constants (constant weights) are packed at compile time, by
/// Support's packer, into an i8 constant of their canonical storage, and
/// unpacked by a tessera.unpack (lowered in turn): the binary holds the
/// packed bytes.
struct LowBitConstantLowering : public OpConversionPattern<arith::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(arith::ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
    if (!type || !dense || !isLowBitType(type.getElementType()))
      return rewriter.notifyMatchFailure(op, "not a dense low-bit constant");
    Value storage =
        arith::ConstantOp::create(rewriter, op.getLoc(), packLowBitConstant(dense));
    rewriter.replaceOpWithNewOp<UnpackOp>(op, type, storage, LayoutAttr());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// tessera.lookup
//===----------------------------------------------------------------------===//

struct LookupOpLowering : public OpConversionPattern<LookupOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LookupOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType resultType = op.getResult().getType();
    Value indices = adaptor.getIndices();
    unsigned rank = resultType.getRank();
    Value init = emptyLike(rewriter, loc, resultType, indices);
    AffineMap id = rewriter.getMultiDimIdentityMap(rank);
    Value table = adaptor.getTable();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{resultType}, ValueRange{indices},
        ValueRange{init}, SmallVector<AffineMap>{id, id},
        parallelIterators(rank),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value idx = args[0];
          if (!idx.getType().isIndex())
            idx = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), idx);
          linalg::YieldOp::create(
              b, loc, tensor::ExtractOp::create(b, loc, table, idx).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// tessera.quantize
//===----------------------------------------------------------------------===//

/// Encodes f32 values to the nearest code of a float format, ties to the
/// even code, saturating: the code of |x| is the number of midpoints between
/// neighbouring positive values that |x| lies above (at a midpoint, the one
/// whose upper neighbour has an even code counts). Positive finite values
/// have consecutive codes from 0 in value order, so the count is the code.
/// The midpoints come from Support's decode table.
Value encodeFloat(OpBuilder &b, Location loc, Value x, const FloatFormat &f) {
  std::vector<float> table = f.decodeTable();
  uint32_t signBit = 1u << (f.getBitWidth() - 1);
  uint32_t largest = f.getLargestCode(false);
  Type i32 = b.getI32Type();
  Value a = math::AbsFOp::create(b, loc, x);
  Value code = constI32(b, loc, 0);
  for (uint32_t c = 0; c < largest; ++c) {
    float mid = (table[c] + table[c + 1]) / 2;
    auto pred = (c + 1) % 2 == 0 ? arith::CmpFPredicate::OGE
                                 : arith::CmpFPredicate::OGT;
    Value above = arith::CmpFOp::create(
        b, loc, pred, a, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(mid)));
    code = arith::AddIOp::create(b, loc, code,
                                 arith::ExtUIOp::create(b, loc, i32, above));
  }
  // The sign bit of x, moved to the code's sign position.
  Value bits = arith::BitcastOp::create(b, loc, i32, x);
  Value sign = arith::ShRUIOp::create(b, loc, bits, constI32(b, loc, 31));
  sign = arith::ShLIOp::create(b, loc, sign,
                               constI32(b, loc, f.getBitWidth() - 1));
  code = arith::OrIOp::create(b, loc, code, sign);
  // Specials, as FloatFormat::encode: inf stays inf where the format has it;
  // NaN becomes NaN where the format has it, +0 otherwise.
  if (f.getSpecials() == FloatFormat::Specials::IEEE) {
    Value isInf = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OEQ, a,
        arith::ConstantOp::create(
            b, loc, b.getF32FloatAttr(std::numeric_limits<float>::infinity())));
    Value infCode = arith::OrIOp::create(b, loc, sign,
                                         constI32(b, loc, largest + 1));
    code = arith::SelectOp::create(b, loc, isInf, infCode, code);
  }
  uint32_t nanCode = f.encode(std::numeric_limits<float>::quiet_NaN());
  Value isNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
  Value nan = nanCode ? arith::OrIOp::create(b, loc, sign,
                                             constI32(b, loc, nanCode & ~signBit))
                            .getResult()
                      : constI32(b, loc, 0);
  return arith::SelectOp::create(b, loc, isNaN, nan, code);
}

struct QuantizeOpLowering : public OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  static Value constF32(OpBuilder &b, Location loc, double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }

  /// Rounds an f32 to `type` and back: the value that will be stored.
  static std::pair<Value, Value> roundTo(OpBuilder &b, Location loc, Value v,
                                         Type type) {
    if (type.isF32())
      return {v, v};
    Value stored = arith::TruncFOp::create(b, loc, type, v);
    return {stored, arith::ExtFOp::create(b, loc, b.getF32Type(), stored)};
  }

  static Value clampF(OpBuilder &b, Location loc, Value v, double lo,
                      double hi) {
    v = arith::MaximumFOp::create(b, loc, v, constF32(b, loc, lo));
    return arith::MinimumFOp::create(b, loc, v, constF32(b, loc, hi));
  }

  static Value toCode(OpBuilder &b, Location loc, Value v) {
    Value i = arith::FPToSIOp::create(b, loc, b.getI32Type(), v);
    return arith::TruncIOp::create(b, loc, b.getI8Type(), i);
  }

  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type f32 = rewriter.getF32Type(), i8 = rewriter.getI8Type();
    int64_t groupSize = op.getGroupSize();
    Type codeType = op.getCodes().getType().getElementType();
    Type scaleType = op.getScales().getType().getElementType();
    Type zeroType = elementTypeOf(op.getZeros());
    ZeroPointMode mode = op.getZeroPointMode();
    FailureOr<FloatFormat> format = getFloatFormat(codeType);
    bool isFloat = succeeded(format);
    int64_t qmin = 0, qmax = 0;
    if (!isFloat) {
      qmin = minCodeValue(getLowBitWidth(codeType), codeType.isSignedInteger());
      qmax = maxCodeValue(getLowBitWidth(codeType), codeType.isSignedInteger());
    }

    // 1. Per-group min, max and largest magnitude.
    Value w3 = expandGroups(rewriter, loc, adaptor.getInput(), groupSize);
    auto w3Type = cast<RankedTensorType>(w3.getType());
    SmallVector<int64_t> groupShape = {w3Type.getDimSize(0),
                                       w3Type.getDimSize(1)};
    auto groupF32 = RankedTensorType::get(groupShape, f32);
    auto filled = [&](double v) {
      Value empty = tensor::EmptyOp::create(rewriter, loc, groupShape, f32);
      return linalg::FillOp::create(rewriter, loc,
                                    ValueRange{constF32(rewriter, loc, v)},
                                    ValueRange{empty})
          .getResult(0);
    };
    AffineMap full = AffineMap::getMultiDimIdentityMap(3, ctx);
    AffineMap perGroup = perGroupMap(ctx);
    double inf = std::numeric_limits<double>::infinity();
    auto stats = linalg::GenericOp::create(
        rewriter, loc, TypeRange{groupF32, groupF32, groupF32}, ValueRange{w3},
        ValueRange{filled(inf), filled(-inf), filled(0.0)},
        SmallVector<AffineMap>{full, perGroup, perGroup, perGroup},
        {IteratorType::parallel, IteratorType::parallel,
         IteratorType::reduction},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value w = args[0];
          Value lo = arith::MinimumFOp::create(b, loc, args[1], w);
          Value hi = arith::MaximumFOp::create(b, loc, args[2], w);
          Value amax = arith::MaximumFOp::create(
              b, loc, args[3], math::AbsFOp::create(b, loc, w));
          linalg::YieldOp::create(b, loc, ValueRange{lo, hi, amax});
        });

    // 2. Per-group scale and zero point, rounded to their stored types.
    auto scalesType = RankedTensorType::get(groupShape, scaleType);
    SmallVector<Type> paramTypes = {scalesType};
    SmallVector<Value> paramInits = {
        tensor::EmptyOp::create(rewriter, loc, groupShape, scaleType)};
    Type zeroStorage = mode == ZeroPointMode::Int ? i8 : zeroType;
    if (mode != ZeroPointMode::None) {
      paramTypes.push_back(RankedTensorType::get(groupShape, zeroStorage));
      paramInits.push_back(
          tensor::EmptyOp::create(rewriter, loc, groupShape, zeroStorage));
    }
    AffineMap id2 = rewriter.getMultiDimIdentityMap(2);
    SmallVector<AffineMap> paramMaps(3 + paramTypes.size(), id2);
    int64_t zmin = 0, zmax = 0;
    if (mode == ZeroPointMode::Int) {
      zmin = minCodeValue(getLowBitWidth(zeroType), zeroType.isSignedInteger());
      zmax = maxCodeValue(getLowBitWidth(zeroType), zeroType.isSignedInteger());
    }
    auto params = linalg::GenericOp::create(
        rewriter, loc, paramTypes, stats.getResults(), paramInits, paramMaps,
        parallelIterators(2),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value lo = args[0], hi = args[1], amax = args[2];
          SmallVector<Value> yields;
          Value scale;
          switch (mode) {
          case ZeroPointMode::None: {
            double top = isFloat ? format->getLargest() : double(qmax);
            scale = arith::DivFOp::create(b, loc, amax, constF32(b, loc, top));
            yields.push_back(roundTo(b, loc, scale, scaleType).first);
            break;
          }
          case ZeroPointMode::Int: {
            lo = arith::MinimumFOp::create(b, loc, lo, constF32(b, loc, 0));
            hi = arith::MaximumFOp::create(b, loc, hi, constF32(b, loc, 0));
            scale = arith::DivFOp::create(
                b, loc, arith::SubFOp::create(b, loc, hi, lo),
                constF32(b, loc, double(qmax - qmin)));
            auto [stored, s] = roundTo(b, loc, scale, scaleType);
            yields.push_back(stored);
            // z = clamp(rint(qmin - lo / s)); 0 when s == 0.
            Value z = arith::SubFOp::create(
                b, loc, constF32(b, loc, double(qmin)),
                arith::DivFOp::create(b, loc, lo, s));
            z = math::RoundEvenOp::create(b, loc, z);
            Value isZero = arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::OEQ, s, constF32(b, loc, 0));
            z = arith::SelectOp::create(b, loc, isZero, constF32(b, loc, 0), z);
            z = clampF(b, loc, z, double(zmin), double(zmax));
            yields.push_back(toCode(b, loc, z));
            break;
          }
          case ZeroPointMode::Float: {
            scale = arith::DivFOp::create(
                b, loc, arith::SubFOp::create(b, loc, hi, lo),
                constF32(b, loc, double(qmax - qmin)));
            auto [stored, s] = roundTo(b, loc, scale, scaleType);
            yields.push_back(stored);
            Value z = arith::SubFOp::create(
                b, loc, lo,
                arith::MulFOp::create(b, loc, constF32(b, loc, double(qmin)),
                                      s));
            yields.push_back(roundTo(b, loc, z, zeroType).first);
            break;
          }
          }
          linalg::YieldOp::create(b, loc, yields);
        });

    // 3. The codes, computed with the stored scale and zero point.
    SmallVector<Value> codeInputs = {w3, params.getResult(0)};
    SmallVector<AffineMap> codeMaps = {full, perGroup};
    if (mode != ZeroPointMode::None) {
      codeInputs.push_back(params.getResult(1));
      codeMaps.push_back(perGroup);
    }
    codeMaps.push_back(full);
    Value codesInit = tensor::EmptyOp::create(rewriter, loc,
                                              w3Type.getShape(), i8);
    bool signedZeros = zeroType && zeroType.isSignedInteger();
    auto codes = linalg::GenericOp::create(
        rewriter, loc, TypeRange{w3Type.clone(i8)}, codeInputs,
        ValueRange{codesInit}, codeMaps, parallelIterators(3),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value w = args[0];
          Value s = floatToF32(b, loc, args[1]);
          Value isZero = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OEQ, s, constF32(b, loc, 0));
          // Divide by 1 where the scale is 0, then pick the exact code.
          Value safe = arith::SelectOp::create(b, loc, isZero,
                                               constF32(b, loc, 1), s);
          Value code;
          if (isFloat) {
            Value scaled = arith::DivFOp::create(b, loc, w, safe);
            Value c = encodeFloat(b, loc, scaled, *format);
            c = arith::SelectOp::create(b, loc, isZero, constI32(b, loc, 0), c);
            code = arith::TruncIOp::create(b, loc, i8, c);
          } else if (mode == ZeroPointMode::Int) {
            Value z = intToF32(b, loc, args[2], signedZeros);
            Value q = math::RoundEvenOp::create(
                b, loc, arith::DivFOp::create(b, loc, w, safe));
            q = arith::AddFOp::create(b, loc, q, z);
            q = arith::SelectOp::create(b, loc, isZero, z, q);
            code = toCode(b, loc, clampF(b, loc, q, double(qmin), double(qmax)));
          } else {
            Value shifted = w;
            if (mode == ZeroPointMode::Float)
              shifted = arith::SubFOp::create(b, loc, w,
                                              floatToF32(b, loc, args[2]));
            Value q = math::RoundEvenOp::create(
                b, loc, arith::DivFOp::create(b, loc, shifted, safe));
            q = arith::SelectOp::create(
                b, loc, isZero,
                constF32(b, loc, mode == ZeroPointMode::Float ? double(qmin)
                                                              : 0.0),
                q);
            code = toCode(b, loc, clampF(b, loc, q, double(qmin), double(qmax)));
          }
          linalg::YieldOp::create(b, loc, code);
        });

    SmallVector<Value> results = {collapseGroups(rewriter, loc,
                                                 codes.getResult(0)),
                                  params.getResult(0)};
    if (mode != ZeroPointMode::None)
      results.push_back(params.getResult(1));
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// A slice of a low-bit tensor (a tile of mpmm weights or zero points) is
/// the same slice of its codes, one per byte.
struct LowBitSliceLowering : public OpConversionPattern<tensor::ExtractSliceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(tensor::ExtractSliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = dyn_cast_or_null<RankedTensorType>(
        getTypeConverter()->convertType(op.getResultType()));
    if (!resultType)
      return rewriter.notifyMatchFailure(op, "result type not convertible");
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
        op, resultType, adaptor.getSource(), op.getMixedOffsets(), op.getMixedSizes(),
        op.getMixedStrides());
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
    // Vector byte ops of the LUT kernel stay for tessera-lower-x86-byte-ops.
    target.addLegalOp<ShuffleBytesOp, SumBytePairsOp, PermuteBytesOp, PermuteLanesOp, DotBytesOp,
                      MultishiftBytesOp>();
    // Any other op is legal once no low-bit tensor flows through it.
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return typeConverter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    patterns.add<UnpackOpLowering, PackOpLowering, MpmmOpLowering,
                 DequantizeOpLowering, QuantizeOpLowering, LookupOpLowering,
                 LutTablesOpLowering, LutAccumulateOpLowering, LutCombineOpLowering,
                 LowBitConstantLowering, LowBitSliceLowering>(typeConverter, ctx);
    populateStructuredToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();

    // Tiles of group terms (linalg.pack / linalg.unpack at the boundaries
    // and before the kernels) that no kernel read in place: a transpose and
    // reshapes, which bufferize.
    SmallVector<Operation *> relayouts;
    getOperation().walk([&](Operation *op) {
      if (isa<linalg::PackOp, linalg::UnPackOp>(op))
        relayouts.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (Operation *op : relayouts) {
      rewriter.setInsertionPoint(op);
      bool lowered = isa<linalg::PackOp>(op)
                         ? succeeded(linalg::lowerPack(rewriter, cast<linalg::PackOp>(op)))
                         : succeeded(linalg::lowerUnPack(rewriter, cast<linalg::UnPackOp>(op)));
      if (!lowered) {
        op->emitOpError("could not be lowered to a transpose and reshapes");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
