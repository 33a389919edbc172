//===- DimensionClasses.h - Sizes a function needs equal ---------*- C++ -*-===//
//
// Which dimensions of a public function's arguments and results must have
// the same size for a call to be valid: dimensions given the same name by
// `tessera.dims`, and those the body relates (a linalg loop reading both, a
// destination and its result, tensor.empty sized by tensor.dim, a returned
// value and the result). The ABI checks them on entry, so that a call with
// mismatched sizes is an error status instead of an out-of-bounds access.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_TARGET_DIMENSIONCLASSES_H
#define TESSERA_LIB_TARGET_DIMENSIONCLASSES_H

#include "tessera/Target/Signature.h"

namespace mlir {
namespace func {
class FuncOp;
} // namespace func
namespace tessera {

/// Sets `dimClasses` of every tensor of `sig`, the signature of `func`: per
/// dimension, a class number shared by every dimension whose size must be the
/// same, or -1 for a dimension related to no other one. Only classes with a
/// dynamic dimension are numbered (static ones the caller's sizes are
/// checked against anyway).
void assignDimensionClasses(func::FuncOp func, FunctionSignature &sig);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_LIB_TARGET_DIMENSIONCLASSES_H
