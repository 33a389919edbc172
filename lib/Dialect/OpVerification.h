//===- OpVerification.h - Helpers of the Tessera op verifiers ---*- C++ -*-===//
//
// Private to lib/Dialect: shape printing for diagnostics and the result-type
// inference shared by destination-style ops.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_DIALECT_OPVERIFICATION_H
#define TESSERA_LIB_DIALECT_OPVERIFICATION_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ValueRange.h"

#include <string>

namespace mlir::tessera {

/// Prints a dimension for diagnostics, `?` when dynamic.
inline std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

/// Prints a shape as `AxBxC` for diagnostics.
inline std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + dimStr(d);
  return s;
}

/// Two dimensions agree unless both are static and differ.
inline bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Destination-style ops whose result has the type of `init`, which is
/// always their last operand (mpmm, lut_combine, monarch_mm, bsr_mm).
inline LogicalResult inferTypeOfInit(ValueRange operands,
                                     SmallVectorImpl<Type> &inferredReturnTypes) {
  if (operands.empty())
    return failure();
  inferredReturnTypes.push_back(operands.back().getType());
  return success();
}

} // namespace mlir::tessera

#endif // TESSERA_LIB_DIALECT_OPVERIFICATION_H
