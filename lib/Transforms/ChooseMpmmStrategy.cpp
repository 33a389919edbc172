//===- ChooseMpmmStrategy.cpp - Dequantize or LUT per mpmm ----------------===//
//
// Records the strategy of each tessera.mpmm as its `strategy` attribute (the
// heuristic is in the pass description); later passes honour it, and an
// attribute written by hand is kept.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERACHOOSEMPMMSTRATEGY
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// With byte tiles, the most rows of x for which 6 and 7-bit codes in them
/// take LUT (4096 x 4096, one Emerald Rapids core, LUT / dequantize time at
/// M = 1, 2, 4, 8, 16, 256: 6 bits 0.78, 0.84, 1.11, 1.15, 1.16, 1.22; 7
/// bits 0.82, 0.94, 1.23, 1.29, 1.34, 1.52).
constexpr int64_t kByteTileLutRows = 2;

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
    SmallVector<MpmmOp> byRows;
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
        bool interleaved =
            dequantizeLayouts && op.getX().getType().getElementType().isF32() &&
            getDequantizeKernelLayout(op.getWeights().getType(), op.getGroupSize(), byteTiles);
        // 6 and 7-bit codes in byte tiles: dequantize, but for a few rows
        // known at compile time. No run-time choice: its dequantize branch
        // would read the LUT kernel's bit planes, through the GEMM at every
        // M (4096 x 4096, one thread, 6 and 7 bits: 5.7 and 6.2 times the
        // byte kernels' time at M = 4, 2.1 at M = 16).
        bool byteTileCodes = interleaved && byteTiles && bits >= 6 && bits <= 7;
        // Codebooks (NF4): the dequantize kernel takes none.
        if (op.getCodebook() || (bits <= lutMaxBits && !byteTileCodes))
          choice = "lut";
        else if (byteTileCodes)
          choice = !ShapedType::isDynamic(rows) && rows <= kByteTileLutRows ? "lut" : "dequantize";
        else if (interleaved)
          choice = "dequantize";
        else if (maxLutRows(bits) > 0 && ShapedType::isDynamic(rows))
          return byRows.push_back(op);
        else if (!ShapedType::isDynamic(rows) && rows <= maxLutRows(bits))
          choice = "lut";
      }
      op.setStrategy(choice);
    });
    for (MpmmOp op : byRows)
      chooseAtRunTime(op);
  }

  /// The most rows of x for which LUT is picked for `bits`-bit codes wider
  /// than lut-max-bits: lut-max-rows, halved for every bit past it (the
  /// lookups grow with the bits, the dequantize GEMM does not).
  int64_t maxLutRows(int64_t bits) const {
    return lutMaxRows >> std::min<int64_t>(62, bits - lutMaxBits);
  }

  /// Rows of x known only at run time: LUT up to maxLutRows of them,
  /// dequantize above, on the same weights (the dequantize kernel reads the
  /// LUT kernel's bit planes).
  void chooseAtRunTime(MpmmOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    int64_t bits = getLowBitWidth(op.getWeights().getType().getElementType());
    Value rows = tensor::DimOp::create(b, loc, op.getX(), 0);
    Value limit = arith::ConstantIndexOp::create(b, loc, maxLutRows(bits));
    Value few = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, rows, limit);
    auto branch = [&](StringRef choice) {
      return [&, choice](OpBuilder &b, Location loc) {
        auto clone = cast<MpmmOp>(b.clone(*op));
        clone.setStrategy(choice);
        scf::YieldOp::create(b, loc, clone.getResult());
      };
    };
    auto select = scf::IfOp::create(b, loc, few, branch("lut"),
                                    branch("dequantize"));
    op.getResult().replaceAllUsesWith(select.getResult(0));
    op.erase();
  }
};

} // namespace
