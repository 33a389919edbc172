//===- TesseraDialect.cpp - Tessera dialect -------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Support/BitPacking.h"

using namespace mlir;
using namespace mlir::tessera;

#include "tessera/Dialect/TesseraDialect.cpp.inc"

void TesseraDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "tessera/Dialect/TesseraOps.cpp.inc"
      >();
}

bool mlir::tessera::isLowBitIntegerType(Type type) {
  auto intType = dyn_cast<IntegerType>(type);
  return intType && !intType.isSignless() && intType.getWidth() >= 1 &&
         intType.getWidth() <= 8;
}

RankedTensorType mlir::tessera::getPackedStorageType(RankedTensorType type) {
  unsigned bits = type.getElementTypeBitWidth();
  int64_t bytes = int64_t(mlir::tessera::packedSizeInBytes(
      size_t(type.getNumElements()), bits));
  return RankedTensorType::get({bytes},
                               IntegerType::get(type.getContext(), 8));
}
