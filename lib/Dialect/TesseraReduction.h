//===- TesseraReduction.h - Patterns for tessera-reduce ----------*- C++ -*-===//
//
// Private to lib/Dialect: the reduction patterns the Tessera dialect gives
// mlir-reduce's reduction tree (tessera-reduce, test/fuzz/reduce.py).
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_DIALECT_TESSERAREDUCTION_H
#define TESSERA_LIB_DIALECT_TESSERAREDUCTION_H

#include "mlir/Reducer/ReductionPatternInterface.h"

namespace mlir::tessera {

/// Shrinks a program without regard for its meaning (the reducer keeps a
/// step only while the program still fails the same way): an op whose
/// single result has the type of one of its operands is replaced by that
/// operand (llvm-reduce's operand reduction), so that chains of ops feeding
/// a function's results can disappear, not only dead ops.
class TesseraReductionPatterns : public DialectReductionPatternInterface {
public:
  explicit TesseraReductionPatterns(Dialect *dialect)
      : DialectReductionPatternInterface(dialect) {}
  void populateReductionPatterns(RewritePatternSet &patterns) const override;
};

} // namespace mlir::tessera

#endif // TESSERA_LIB_DIALECT_TESSERAREDUCTION_H
