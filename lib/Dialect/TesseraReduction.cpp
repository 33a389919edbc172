//===- TesseraReduction.cpp - Patterns for tessera-reduce -----------------===//

#include "TesseraReduction.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;

namespace {

/// An op of a function's body with one result and an operand of the
/// result's type: the result replaced by the first such operand.
struct ReplaceResultWithOperand : public RewritePattern {
  explicit ReplaceResultWithOperand(MLIRContext *context)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    // Ops of a function's body only: the bodies of linalg ops and the like
    // must keep their form.
    if (op->getNumResults() != 1 || op->hasTrait<OpTrait::IsTerminator>() ||
        !op->getParentOp() || !isa<FunctionOpInterface>(op->getParentOp()))
      return failure();
    Type type = op->getResult(0).getType();
    for (Value operand : op->getOperands())
      if (operand.getType() == type) {
        rewriter.replaceOp(op, operand);
        return success();
      }
    return failure();
  }
};

} // namespace

void mlir::tessera::TesseraReductionPatterns::populateReductionPatterns(
    RewritePatternSet &patterns) const {
  patterns.add<ReplaceResultWithOperand>(patterns.getContext());
}
