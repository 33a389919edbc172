//===- TesseraOps.cpp - Tessera operations --------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Support/BitPacking.h"

#include "OpVerification.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::tessera;

#define GET_OP_CLASSES
#include "tessera/Dialect/TesseraOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Group-wise quantization parameters (shared by mpmm, dequantize, quantize)
//===----------------------------------------------------------------------===//

static ZeroPointMode zeroPointModeOf(Value zeros) {
  if (!zeros)
    return ZeroPointMode::None;
  return isa<IntegerType>(cast<ShapedType>(zeros.getType()).getElementType())
             ? ZeroPointMode::Int
             : ZeroPointMode::Float;
}

/// Checks scales, zeros and codebook against N x K codes quantized in groups
/// of `groupSize` along K.
static LogicalResult verifyGroupParams(Operation *op, RankedTensorType codes,
                                       Type scalesType, Value zeros,
                                       Value codebook, int64_t groupSize) {
  if (codes.getRank() != 2)
    return op->emitOpError("expects 2-D codes (N x K), got rank ")
           << codes.getRank();
  if (!codes.hasStaticShape())
    return op->emitOpError("expects codes of static shape, got ") << codes;
  int64_t n = codes.getDimSize(0), k = codes.getDimSize(1);
  if (k % groupSize != 0)
    return op->emitOpError("expects group_size to divide K = ")
           << k << ", got group_size = " << groupSize;
  SmallVector<int64_t> groupShape = {n, k / groupSize};

  auto sType = cast<RankedTensorType>(scalesType);
  if (sType.getShape() != ArrayRef<int64_t>(groupShape))
    return op->emitOpError("expects scales of shape ")
           << shapeStr(groupShape) << " (N x K/group_size), got "
           << shapeStr(sType.getShape());

  Type codeType = codes.getElementType();
  if (zeros) {
    auto zType = cast<RankedTensorType>(zeros.getType());
    if (zType.getShape() != ArrayRef<int64_t>(groupShape))
      return op->emitOpError("expects zeros of shape ")
             << shapeStr(groupShape) << " (N x K/group_size), got "
             << shapeStr(zType.getShape());
    if (zeroPointModeOf(zeros) == ZeroPointMode::Int &&
        isLowBitFloatType(codeType))
      return op->emitOpError("expects no integer zero point with float codes ")
             << codeType << " (use a float offset)";
  }

  if (codebook) {
    auto cType = cast<RankedTensorType>(codebook.getType());
    if (!isLowBitIntegerType(codeType) || codeType.isSignedInteger())
      return op->emitOpError("expects unsigned integer codes with a codebook, "
                             "got ")
             << codeType;
    int64_t entries = int64_t(1) << getLowBitWidth(codeType);
    if (cType.getRank() != 1 || cType.getDimSize(0) != entries)
      return op->emitOpError("expects a codebook of ")
             << entries << " entries (2^" << getLowBitWidth(codeType)
             << " for " << codeType << " codes), got shape "
             << shapeStr(cType.getShape());
  }
  return success();
}

//===----------------------------------------------------------------------===//
// MpmmOp
//===----------------------------------------------------------------------===//

ZeroPointMode MpmmOp::getZeroPointMode() { return zeroPointModeOf(getZeros()); }

unsigned MpmmOp::getWeightBits() {
  return getLowBitWidth(getWeights().getType().getElementType());
}

bool MpmmOp::hasSignedWeights() {
  return getWeights().getType().getElementType().isSignedInteger();
}

LogicalResult MpmmOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location,
    ValueRange operands, DictionaryAttr attributes,
    OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  return inferTypeOfInit(operands, inferredReturnTypes);
}

LogicalResult MpmmOp::verify() {
  RankedTensorType xType = getX().getType();
  RankedTensorType wType = getWeights().getType();
  RankedTensorType initType = getInit().getType();

  if (xType.getRank() != 2)
    return emitOpError("expects x to be a 2-D tensor (M x K), got rank ")
           << xType.getRank();
  if (wType.getRank() != 2)
    return emitOpError("expects weights to be a 2-D tensor (N x K), got rank ")
           << wType.getRank();
  if (!wType.hasStaticShape())
    return emitOpError("expects weights to have a static shape, got ")
           << wType;
  if (initType.getRank() != 2)
    return emitOpError("expects init to be a 2-D tensor (M x N), got rank ")
           << initType.getRank();

  int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
  if (!dimsAgree(xType.getDimSize(1), k))
    return emitOpError("expects x to have K = ")
           << k << " columns like the weights, got " << xType.getDimSize(1);
  if (!dimsAgree(initType.getDimSize(0), xType.getDimSize(0)))
    return emitOpError("expects init to have M = ")
           << dimStr(xType.getDimSize(0)) << " rows like x, got "
           << initType.getDimSize(0);
  if (!dimsAgree(initType.getDimSize(1), n))
    return emitOpError("expects init to have N = ")
           << n << " columns (the weight rows), got "
           << dimStr(initType.getDimSize(1));
  if (failed(verifyGroupParams(*this, wType, getScales().getType(), getZeros(),
                               getCodebook(), getGroupSize())))
    return failure();
  if (std::optional<StringRef> strategy = getStrategy()) {
    if (*strategy != "dequantize" && *strategy != "lut" && *strategy != "lut_f32")
      return emitOpError("expects strategy \"dequantize\", \"lut\" or "
                         "\"lut_f32\", got \"")
             << *strategy << "\"";
    if (strategy->starts_with("lut")) {
      bool codebookOk = !getCodebook() || getLowBitWidth(wType.getElementType()) <= 4;
      if (!isLowBitIntegerType(wType.getElementType()) || !codebookOk)
        return emitOpError("expects integer codes (with a codebook: of at most 4 "
                           "bits) for the LUT strategy, got ")
               << wType.getElementType() << (getCodebook() ? " with a codebook" : "");
      if (getGroupSize() % 4 != 0)
        return emitOpError("expects a group_size that is a multiple of 4 for "
                           "the LUT strategy, got ")
               << getGroupSize();
    }
  }
  return success();
}

static std::string typeStr(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "'" << t << "'";
  return s;
}

//===----------------------------------------------------------------------===//
// LUT ops
//===----------------------------------------------------------------------===//

LogicalResult LutTablesOp::verify() {
  RankedTensorType xType = getX().getType();
  if (xType.getRank() != 2)
    return emitOpError("expects x to be a 2-D tensor (M x K), got rank ")
           << xType.getRank();
  int64_t m = xType.getDimSize(0), k = xType.getDimSize(1);
  int64_t group = getGroupSize();
  if (ShapedType::isDynamic(k))
    return emitOpError("expects x to have a static K, got ") << xType;
  if (group % 4 != 0 || k % group != 0)
    return emitOpError("expects a group_size that is a multiple of 4 and "
                       "divides K = ")
           << k << ", got " << group;
  RankedTensorType tType = getTables().getType();
  int64_t tables = getCodebook() ? k : k / 4;
  if (tType.getRank() != 3 || !dimsAgree(tType.getDimSize(0), m) ||
      tType.getDimSize(1) != tables || tType.getDimSize(2) != 16)
    return emitOpError("expects tables of shape ")
           << dimStr(m) << "x" << tables << "x16 ("
           << (getCodebook() ? "M x K x 16 with a codebook" : "M x K/4 x 16")
           << "), got " << shapeStr(tType.getShape());
  if (Value cb = getCodebook()) {
    int64_t entries = cast<RankedTensorType>(cb.getType()).getDimSize(0);
    if (entries < 1 || entries > 16)
      return emitOpError("expects a codebook of 1 to 16 values, got ") << entries;
  }
  for (Type t : {getTableScales().getType(), getSums().getType()}) {
    auto type = cast<RankedTensorType>(t);
    if (type.getRank() != 2 || !dimsAgree(type.getDimSize(0), m) ||
        type.getDimSize(1) != k / group)
      return emitOpError("expects table_scales and sums of shape ")
             << dimStr(m) << "x" << k / group << " (M x K/group_size), got "
             << shapeStr(type.getShape());
  }
  return success();
}

LogicalResult LutAccumulateOp::verify() {
  RankedTensorType tType = getTables().getType();
  RankedTensorType wType = getWeights().getType();
  RankedTensorType rType = getResult().getType();
  if (tType.getRank() != 3 || tType.getDimSize(2) != 16)
    return emitOpError("expects tables of shape M x K/4 x 16, got ")
           << shapeStr(tType.getShape());
  if (wType.getRank() != 2 || !wType.hasStaticShape())
    return emitOpError("expects weights of static shape N x K, got ") << wType;
  int64_t n = wType.getDimSize(0), k = wType.getDimSize(1), group = getGroupSize();
  if (group % 4 != 0 || k % group != 0)
    return emitOpError("expects a group_size that is a multiple of 4 and "
                       "divides K = ")
           << k << ", got " << group;
  bool direct = isDirect();
  if (!direct && tType.getDimSize(1) != k / 4)
    return emitOpError("expects ") << k / 4 << " tables per row (K/4), or " << k
                                   << " (K, per activation), got "
                                   << tType.getDimSize(1);
  int64_t bits = getLowBitWidth(wType.getElementType());
  if (direct && (bits > 4 || wType.getElementType().isSignedInteger()))
    return emitOpError("expects unsigned codes of at most 4 bits with per-activation "
                       "tables, got ")
           << wType.getElementType();
  int64_t planes = direct ? 1 : bits;
  SmallVector<int64_t> want = {planes, tType.getDimSize(0), n, k / group};
  if (rType.getRank() != 4 || rType.getDimSize(0) != planes ||
      !dimsAgree(rType.getDimSize(1), want[1]) || rType.getDimSize(2) != n ||
      rType.getDimSize(3) != k / group)
    return emitOpError("expects a result of shape ")
           << shapeStr(want) << " (planes x M x N x K/group_size), got "
           << shapeStr(rType.getShape());
  Type accType = tType.getElementType().isF32() ? Type(Float32Type::get(getContext()))
                                                : Type(IntegerType::get(getContext(), 32));
  if (rType.getElementType() != accType)
    return emitOpError("expects ")
           << accType << " sums for " << tType.getElementType() << " tables, got "
           << rType.getElementType();
  return success();
}

ZeroPointMode LutCombineOp::getZeroPointMode() {
  return zeroPointModeOf(getZeros());
}

LogicalResult LutCombineOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location,
    ValueRange operands, DictionaryAttr attributes,
    OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  return inferTypeOfInit(operands, inferredReturnTypes);
}

LogicalResult LutCombineOp::verify() {
  Type codeType = getCodeType();
  if (!isLowBitIntegerType(codeType))
    return emitOpError("expects an integer code_type (siN or uiN), got ")
           << codeType;
  RankedTensorType accType = getAcc().getType();
  int64_t planes = getDirect() ? 1 : int64_t(getLowBitWidth(codeType));
  if (accType.getRank() != 4 || accType.getDimSize(0) != planes)
    return emitOpError("expects acc of shape ")
           << planes << "xMxNxG ("
           << (getDirect() ? std::string("direct: one plane")
                           : "one plane per bit of " + typeStr(codeType))
           << "), got " << shapeStr(accType.getShape());
  int64_t m = accType.getDimSize(1), n = accType.getDimSize(2),
          groups = accType.getDimSize(3);
  for (Type t : {getTableScales().getType(), getSums().getType()}) {
    auto type = cast<RankedTensorType>(t);
    if (type.getRank() != 2 || !dimsAgree(type.getDimSize(0), m) ||
        !dimsAgree(type.getDimSize(1), groups))
      return emitOpError("expects table_scales and sums of shape ")
             << dimStr(m) << "x" << dimStr(groups) << " (M x groups), got "
             << shapeStr(type.getShape());
  }
  SmallVector<int64_t> groupShape = {n, groups};
  if (getScales().getType().getShape() != ArrayRef<int64_t>(groupShape))
    return emitOpError("expects scales of shape ")
           << shapeStr(groupShape) << " (N x groups), got "
           << shapeStr(getScales().getType().getShape());
  if (Value zeros = getZeros())
    if (cast<RankedTensorType>(zeros.getType()).getShape() !=
        ArrayRef<int64_t>(groupShape))
      return emitOpError("expects zeros of shape ")
             << shapeStr(groupShape) << " (N x groups), got "
             << shapeStr(cast<RankedTensorType>(zeros.getType()).getShape());
  RankedTensorType initType = getInit().getType();
  if (initType.getRank() != 2 || !dimsAgree(initType.getDimSize(0), m) ||
      !dimsAgree(initType.getDimSize(1), n))
    return emitOpError("expects init of shape ")
           << dimStr(m) << "x" << dimStr(n) << " (M x N), got "
           << shapeStr(initType.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

ZeroPointMode DequantizeOp::getZeroPointMode() {
  return zeroPointModeOf(getZeros());
}

LogicalResult DequantizeOp::verify() {
  RankedTensorType codes = getCodes().getType();
  if (getResult().getType().getShape() != codes.getShape())
    return emitOpError("expects a result of the codes' shape ")
           << shapeStr(codes.getShape()) << ", got "
           << shapeStr(getResult().getType().getShape());
  return verifyGroupParams(*this, codes, getScales().getType(), getZeros(),
                           getCodebook(), getGroupSize());
}

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

ZeroPointMode QuantizeOp::getZeroPointMode() {
  return zeroPointModeOf(getZeros());
}

LogicalResult QuantizeOp::verify() {
  RankedTensorType codes = getCodes().getType();
  if (getInput().getType().getShape() != codes.getShape())
    return emitOpError("expects codes of the input's shape ")
           << shapeStr(getInput().getType().getShape()) << ", got "
           << shapeStr(codes.getShape());
  if (failed(verifyGroupParams(*this, codes, getScales().getType(), getZeros(),
                               Value(), getGroupSize())))
    return failure();
  Type codeType = codes.getElementType();
  if (isLowBitFloatType(codeType)) {
    if (getZeros())
      return emitOpError("expects no zero point with float codes ")
             << codeType << " (they are scaled by absmax)";
    return success();
  }
  if (!getZeros()) {
    if (!codeType.isSignedInteger())
      return emitOpError("expects signed codes for symmetric quantization "
                         "(no zero point), got ")
             << codeType;
    if (getLowBitWidth(codeType) < 2)
      return emitOpError("expects at least 2 bits for symmetric "
                         "quantization, got ")
             << codeType << " (it has no positive code)";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LookupOp
//===----------------------------------------------------------------------===//

LogicalResult LookupOp::verify() {
  RankedTensorType table = getTable().getType();
  RankedTensorType indices = getIndices().getType();
  RankedTensorType result = getResult().getType();
  if (table.getRank() != 1)
    return emitOpError("expects a 1-D table, got rank ") << table.getRank();
  if (result.getShape() != indices.getShape() ||
      result.getElementType() != table.getElementType())
    return emitOpError("expects a result of the indices' shape and the "
                       "table's element type, ")
           << RankedTensorType::get(indices.getShape(),
                                    table.getElementType())
           << ", got " << result;
  Type indexType = indices.getElementType();
  if (isLowBitIntegerType(indexType)) {
    if (indexType.isSignedInteger())
      return emitOpError("expects unsigned or signless indices, got ")
             << indexType;
    int64_t entries = int64_t(1) << getLowBitWidth(indexType);
    if (table.getDimSize(0) != entries)
      return emitOpError("expects a table of ")
             << entries << " entries for " << indexType << " indices, got "
             << dimStr(table.getDimSize(0));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// UnpackOp / PackOp
//===----------------------------------------------------------------------===//

/// Checks that `storage` is the packed storage of `logical` in `layout`.
static LogicalResult verifyPackedPair(Operation *op, RankedTensorType logical,
                                      RankedTensorType storage,
                                      std::optional<LayoutAttr> layoutAttr) {
  if (!logical.hasStaticShape())
    return op->emitOpError("expects a statically shaped low-bit tensor, got ")
           << logical;
  PackedLayout layout;
  if (layoutAttr)
    layout = layoutAttr->getPackedLayout();
  std::string error;
  if (!verifyLayout(std::vector<int64_t>(logical.getShape().begin(),
                                         logical.getShape().end()),
                    layout, error))
    return op->emitOpError("expects a layout that divides the shape of ")
           << logical << ", got " << error;
  RankedTensorType expected = getPackedStorageType(logical, layout);
  if (storage.getShape() != expected.getShape())
    return op->emitOpError("expects packed storage of ")
           << expected.getDimSize(0) << " bytes for " << logical << " ("
           << logical.getNumElements() << " x "
           << getLowBitWidth(logical.getElementType()) << " bits"
           << (layout.isCanonical() ? "" : " in this layout") << "), got "
           << storage.getDimSize(0) << " bytes";
  return success();
}

LogicalResult UnpackOp::verify() {
  return verifyPackedPair(*this, getResult().getType(),
                          getStorage().getType(), getLayout());
}

LogicalResult PackOp::verify() {
  return verifyPackedPair(*this, getCodes().getType(), getResult().getType(),
                          getLayout());
}

//===----------------------------------------------------------------------===//
// Vector byte operations
//===----------------------------------------------------------------------===//

LogicalResult SumBytePairsOp::verify() {
  if (getResult().getType().getNumElements() * 2 != getX().getType().getNumElements())
    return emitOpError("expects half as many i16 sums as bytes, got ")
           << getResult().getType() << " for " << getX().getType();
  if (getWeight() < 1 || getWeight() > 127)
    return emitOpError("expects a weight from 1 to 127, got ") << getWeight();
  return success();
}

LogicalResult DotBytesOp::verify() {
  if (getLhs().getType().getNumElements() != 4 * getAcc().getType().getNumElements())
    return emitOpError("expects four bytes per i32 lane, got ")
           << getLhs().getType() << " into " << getAcc().getType();
  return success();
}
