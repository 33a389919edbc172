//===- AssignLutLayouts.cpp - Bit-plane layouts for LUT weights -----------===//
//
// Gives the weights of every LUT kernel the layout the kernel reads (see the
// pass description): function arguments through a `tessera.layout`
// attribute and a generated prepack function, constants packed at compile
// time, anything else repacked where it is computed.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "WeightLayouts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERAASSIGNLUTLAYOUTS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// The layout the LUT kernel reads for `op`, or null if the kernel does not
/// take it.
LayoutAttr kernelLayout(LutAccumulateOp op, int64_t lanes, bool bytePermute) {
  if (!op.getTables().getType().getElementType().isInteger(8))
    return nullptr;
  return getLutKernelLayout(op.getWeights().getType(), op.getGroupSize(),
                            op.isDirect(), lanes, bytePermute);
}

struct TesseraAssignLutLayoutsPass
    : public mlir::tessera::impl::TesseraAssignLutLayoutsBase<
          TesseraAssignLutLayoutsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<LutAccumulateOp, LayoutAttr>> work;
    module.walk([&](LutAccumulateOp op) {
      if (LayoutAttr layout = kernelLayout(op, lanes, bytePermute))
        if (!hasLayout(op.getWeights(), layout))
          work.push_back({op, layout});
    });
    for (auto [op, layout] : work) {
      // Dequantize-strategy mpmms on integer codes read the bit planes too
      // (tessera-lower-mpmm-to-vector): a run-time choice of strategy
      // (tessera-choose-mpmm-strategy) keeps one copy of the weights.
      assignWeightLayout(op.getWeightsMutable(), layout, [&](OpOperand &use) {
        if (auto mpmm = dyn_cast<MpmmOp>(use.getOwner()))
          return use.getOperandNumber() == mpmm.getWeightsMutable().getOperandNumber() &&
                 mpmm.getStrategy() == "dequantize" && !mpmm.getCodebook() &&
                 !layout.getTile().empty() && layout.getBitPlanes();
        auto acc = dyn_cast<LutAccumulateOp>(use.getOwner());
        return acc && use.getOperandNumber() == acc.getWeightsMutable().getOperandNumber() &&
               (kernelLayout(acc, lanes, bytePermute) == layout ||
                kernelLayout(acc, lanes, false) == layout);
      });
    }
    // Then the group terms of the combines whose lookups read their
    // weights in the kernel's layout.
    SmallVector<OpOperand *> terms;
    module.walk([&](LutCombineOp op) {
      auto acc = op.getAcc().getDefiningOp<LutAccumulateOp>();
      if (!acc)
        return;
      LayoutAttr layout = kernelLayout(acc, lanes, bytePermute);
      LayoutAttr shuffleLayout = kernelLayout(acc, lanes, false);
      if (!(layout && comesInLayout(acc.getWeights(), layout)) &&
          !(shuffleLayout && comesInLayout(acc.getWeights(), shuffleLayout)))
        return;
      terms.push_back(&op.getScalesMutable());
      if (op.getZeros())
        terms.push_back(&op.getZerosMutable()[0]);
    });
    assignGroupTermsLayouts(terms);
  }
};

} // namespace
