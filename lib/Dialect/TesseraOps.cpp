//===- TesseraOps.cpp - Tessera operations --------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Support/BitPacking.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::tessera;

#define GET_OP_CLASSES
#include "tessera/Dialect/TesseraOps.cpp.inc"

/// Prints a dimension for diagnostics, `?` when dynamic.
static std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

/// Prints a shape as `AxBxC` for diagnostics.
static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + dimStr(d);
  return s;
}

/// Two dimensions agree unless both are static and differ.
static bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

//===----------------------------------------------------------------------===//
// MpmmOp
//===----------------------------------------------------------------------===//

ZeroPointMode MpmmOp::getZeroPointMode() {
  if (!getZeros())
    return ZeroPointMode::None;
  return isa<IntegerType>(getZeros().getType().getElementType())
             ? ZeroPointMode::Int
             : ZeroPointMode::Float;
}

unsigned MpmmOp::getWeightBits() {
  return getWeights().getType().getElementTypeBitWidth();
}

bool MpmmOp::hasSignedWeights() {
  return getWeights().getType().getElementType().isSignedInteger();
}

LogicalResult MpmmOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location,
    ValueRange operands, DictionaryAttr attributes,
    OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  // The result has the type of `init`, which is always the last operand.
  if (operands.empty())
    return failure();
  inferredReturnTypes.push_back(operands.back().getType());
  return success();
}

LogicalResult MpmmOp::verify() {
  RankedTensorType xType = getX().getType();
  RankedTensorType wType = getWeights().getType();
  RankedTensorType sType = getScales().getType();
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

  int64_t groupSize = getGroupSize();
  if (k % groupSize != 0)
    return emitOpError("expects group_size to divide K = ")
           << k << ", got group_size = " << groupSize;
  SmallVector<int64_t> groupShape = {n, k / groupSize};

  if (sType.getShape() != ArrayRef<int64_t>(groupShape))
    return emitOpError("expects scales of shape ")
           << shapeStr(groupShape) << " (N x K/group_size), got "
           << shapeStr(sType.getShape());

  if (Value zeros = getZeros()) {
    auto zType = cast<RankedTensorType>(zeros.getType());
    if (zType.getShape() != ArrayRef<int64_t>(groupShape))
      return emitOpError("expects zeros of shape ")
             << shapeStr(groupShape) << " (N x K/group_size), got "
             << shapeStr(zType.getShape());
  }

  if (Value codebook = getCodebook()) {
    auto cType = cast<RankedTensorType>(codebook.getType());
    int64_t entries = int64_t(1) << getWeightBits();
    if (cType.getRank() != 1 || cType.getDimSize(0) != entries)
      return emitOpError("expects a codebook of ")
             << entries << " entries (2^" << getWeightBits()
             << " for the weight width), got shape "
             << shapeStr(cType.getShape());
    if (hasSignedWeights())
      return emitOpError("expects unsigned weight codes with a codebook, got ")
             << wType.getElementType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// UnpackOp / PackOp
//===----------------------------------------------------------------------===//

/// Checks that `storage` is the canonical packed storage of `logical`.
static LogicalResult verifyPackedPair(Operation *op, RankedTensorType logical,
                                      RankedTensorType storage) {
  if (!logical.hasStaticShape())
    return op->emitOpError("expects a statically shaped low-bit tensor, got ")
           << logical;
  RankedTensorType expected = getPackedStorageType(logical);
  if (storage.getShape() != expected.getShape())
    return op->emitOpError("expects packed storage of ")
           << expected.getDimSize(0) << " bytes for " << logical << " ("
           << logical.getNumElements() << " x "
           << logical.getElementTypeBitWidth() << " bits), got "
           << storage.getDimSize(0) << " bytes";
  return success();
}

LogicalResult UnpackOp::verify() {
  return verifyPackedPair(*this, getResult().getType(),
                          getStorage().getType());
}

LogicalResult PackOp::verify() {
  return verifyPackedPair(*this, getCodes().getType(), getResult().getType());
}
