//===- ChooseMpmmStrategy.cpp - Dequantize or LUT per mpmm ----------------===//
//
// Records the strategy of each tessera.mpmm as its `strategy` attribute (the
// heuristic is in the pass description); later passes honour it, and an
// attribute written by hand is kept.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERACHOOSEMPMMSTRATEGY
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Whether the LUT strategy applies to `op` at all (any lowering).
bool lutApplies(MpmmOp op) {
  Type codeType = op.getWeights().getType().getElementType();
  return isLowBitIntegerType(codeType) &&
         (!op.getCodebook() || getLowBitWidth(codeType) <= 4) &&
         op.getGroupSize() % 4 == 0;
}

/// Whether the LUT vector kernel takes `op` on a target with `lanes`-byte
/// shuffles.
bool lutKernelApplies(MpmmOp op, int64_t lanes) {
  return lutApplies(op) && op.getX().getType().getElementType().isF32() &&
         op.getInit().getType().getElementType().isF32() &&
         getLutKernelLayout(op.getWeights().getType(), op.getGroupSize(),
                            /*direct=*/op.getCodebook() != nullptr, lanes);
}

struct TesseraChooseMpmmStrategyPass
    : public mlir::tessera::impl::TesseraChooseMpmmStrategyBase<
          TesseraChooseMpmmStrategyPass> {
  using Base::Base;
  void runOnOperation() override {
    if (strategy != "auto" && strategy != "dequantize" && strategy != "lut" &&
        strategy != "lut_f32") {
      getOperation().emitError("tessera-choose-mpmm-strategy: unknown strategy '")
          << strategy << "' (expected auto, dequantize, lut or lut_f32)";
      return signalPassFailure();
    }
    getOperation().walk([&](MpmmOp op) {
      if (op.getStrategy())
        return;
      StringRef choice = "dequantize";
      if (strategy != "auto") {
        if (strategy == "dequantize" || lutApplies(op))
          choice = strategy;
      } else if (lutKernelApplies(op, lutLanes)) {
        int64_t bits = getLowBitWidth(op.getWeights().getType().getElementType());
        int64_t rows = op.getX().getType().getDimSize(0);
        bool manyRows = !ShapedType::isDynamic(rows) && rows > lutMaxRows;
        if (op.getCodebook())
          choice = "lut"; // NF4: the dequantize kernel takes no codebooks
        else if (bits <= std::min<int64_t>(3, lutMaxBits) ||
                 (bits <= lutMaxBits && !manyRows))
          choice = "lut";
      }
      op.setStrategy(choice);
    });
  }
};

} // namespace
