//===- AssignMpmmLayouts.cpp - Interleaved layouts for dequantize weights --===//
//
// Gives the weights of every dequantize-strategy mpmm whose vector kernel
// reads them interleaved that layout (see the pass description): function
// arguments through a `tessera.layout` attribute and a generated prepack
// function, constants packed at compile time, anything else repacked where
// it is computed.
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
#define GEN_PASS_DEF_TESSERAASSIGNMPMMLAYOUTS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// The layout the dequantize kernel reads `op`'s weights in, or null where
/// it reads the canonical storage.
LayoutAttr kernelLayout(MpmmOp op, bool byteTiles) {
  if (op.getStrategy() != "dequantize" || op.getCodebook() ||
      !op.getX().getType().getElementType().isF32() ||
      !op.getInit().getType().getElementType().isF32())
    return nullptr;
  return getDequantizeKernelLayout(op.getWeights().getType(), op.getGroupSize(), byteTiles);
}

/// Whether `op`'s kernel reads its weights interleaved (they have the layout).
bool readsInterleaved(MpmmOp op, bool byteTiles) {
  LayoutAttr layout = kernelLayout(op, byteTiles);
  return layout && comesInLayout(op.getWeights(), layout);
}

/// Whether `use` is the weights of an mpmm whose kernel reads `layout`.
bool readsLayout(OpOperand &use, LayoutAttr layout, bool byteTiles) {
  auto mpmm = dyn_cast<MpmmOp>(use.getOwner());
  return mpmm && &use == &mpmm.getWeightsMutable() && kernelLayout(mpmm, byteTiles) == layout;
}

struct TesseraAssignMpmmLayoutsPass
    : public mlir::tessera::impl::TesseraAssignMpmmLayoutsBase<
          TesseraAssignMpmmLayoutsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::pair<MpmmOp, LayoutAttr>> work;
    getOperation().walk([&](MpmmOp op) {
      LayoutAttr layout = kernelLayout(op, byteTiles);
      if (!layout || hasAnyLayout(op.getWeights()))
        return;
      // Weights shared with any other reader stay canonical.
      if (!llvm::all_of(op.getWeights().getUses(),
                        [&](OpOperand &use) { return readsLayout(use, layout, byteTiles); }))
        return;
      work.push_back({op, layout});
    });
    for (auto [op, layout] : work) {
      // An earlier op of the list may have repacked shared weights.
      if (hasLayout(op.getWeights(), layout))
        continue;
      assignWeightLayout(op.getWeightsMutable(), layout,
                         [&](OpOperand &use) { return readsLayout(use, layout, byteTiles); });
    }
    // Then the group terms of the kernels that read their weights
    // interleaved.
    SmallVector<OpOperand *> terms;
    getOperation().walk([&](MpmmOp op) {
      if (!readsInterleaved(op, byteTiles))
        return;
      terms.push_back(&op.getScalesMutable());
      if (op.getZeros())
        terms.push_back(&op.getZerosMutable()[0]);
    });
    assignGroupTermsLayouts(terms);
  }
};

} // namespace
