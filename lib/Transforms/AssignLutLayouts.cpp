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

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

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

/// Whether `v` is also read by a dequantize-strategy mpmm (a run-time choice
/// of strategy keeps one copy of the weights, an argument or, once the
/// function boundaries are packed, its unpack), whose vector kernel reads
/// bit planes in tiles of L x 8 only.
bool readByDequantize(Value v) {
  return llvm::any_of(v.getUsers(), [&](Operation *user) {
    auto mpmm = dyn_cast<MpmmOp>(user);
    return mpmm && mpmm.getStrategy() == "dequantize";
  });
}

/// Whether `v` already comes from storage in `layout`.
bool hasLayout(Value v, LayoutAttr layout) {
  auto unpack = v.getDefiningOp<UnpackOp>();
  return unpack && unpack.getLayout() == layout;
}

/// Creates `prepack_<func>_<arg>`: canonical storage in, `layout` out.
void createPrepackFunction(ModuleOp module, func::FuncOp func, unsigned argIndex,
                           LayoutAttr layout) {
  auto type = cast<RankedTensorType>(func.getArgument(argIndex).getType());
  std::string argName = "arg" + std::to_string(argIndex);
  if (auto name = func.getArgAttrOfType<StringAttr>(argIndex, "tessera.name"))
    argName = name.str();
  OpBuilder b(module.getContext());
  b.setInsertionPointAfter(func);
  auto prepack = func::FuncOp::create(
      b, func.getLoc(), prepackFunctionName(func.getName(), argName),
      b.getFunctionType({type}, {type}));
  prepack.setArgAttr(0, "tessera.name", b.getStringAttr(argName));
  prepack.setResultAttr(0, "tessera.name", b.getStringAttr(argName + "_prepacked"));
  prepack.setResultAttr(0, kLayoutAttrName, layout);
  Block *entry = prepack.addEntryBlock();
  b.setInsertionPointToStart(entry);
  func::ReturnOp::create(b, func.getLoc(), entry->getArgument(0));
  SymbolTable(module).insert(prepack);
}

struct TesseraAssignLutLayoutsPass
    : public mlir::tessera::impl::TesseraAssignLutLayoutsBase<
          TesseraAssignLutLayoutsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<LutAccumulateOp, LayoutAttr>> work;
    module.walk([&](LutAccumulateOp op) {
      if (LayoutAttr layout =
              kernelLayout(op, lanes, bytePermute && !readByDequantize(op.getWeights())))
        if (!hasLayout(op.getWeights(), layout))
          work.push_back({op, layout});
    });
    for (auto [op, layout] : work) {
      Value weights = op.getWeights();
      auto type = cast<RankedTensorType>(weights.getType());
      RankedTensorType storageType =
          getPackedStorageType(type, layout.getPackedLayout());

      // An argument of a public function used only by kernels wanting this
      // layout: the caller passes it prepacked.
      if (auto arg = dyn_cast<BlockArgument>(weights)) {
        auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
        // Dequantize-strategy mpmms on integer codes read the bit planes
        // too (tessera-lower-mpmm-to-vector): a run-time choice of strategy
        // (tessera-choose-mpmm-strategy) keeps one copy of the weights.
        bool onlyKernels = llvm::all_of(arg.getUsers(), [&](Operation *user) {
          if (auto mpmm = dyn_cast<MpmmOp>(user))
            return mpmm.getWeights() == arg && mpmm.getStrategy() == "dequantize" &&
                   !mpmm.getCodebook() && !layout.getTile().empty() &&
                   layout.getBitPlanes();
          auto acc = dyn_cast<LutAccumulateOp>(user);
          return acc && acc.getWeights() == arg &&
                 (kernelLayout(acc, lanes, bytePermute) == layout ||
                  kernelLayout(acc, lanes, false) == layout);
        });
        if (func && func.isPublic() && arg.getOwner()->isEntryBlock() && onlyKernels) {
          if (!func.getArgAttr(arg.getArgNumber(), kLayoutAttrName)) {
            func.setArgAttr(arg.getArgNumber(), kLayoutAttrName, layout);
            createPrepackFunction(module, func, arg.getArgNumber(), layout);
          }
          continue;
        }
      }

      OpBuilder b(op);
      Location loc = op.getLoc();
      // A constant: packed in the layout now.
      DenseElementsAttr dense;
      if (auto cst = weights.getDefiningOp<arith::ConstantOp>())
        dense = dyn_cast<DenseElementsAttr>(cst.getValue());
      if (dense) {
        Value storage = arith::ConstantOp::create(
            b, loc, packLowBitConstant(dense, layout.getPackedLayout()));
        op.getWeightsMutable().assign(UnpackOp::create(b, loc, type, storage, layout));
        continue;
      }
      // Anything else: repacked before the kernel.
      Value packed = PackOp::create(b, loc, storageType, weights, layout);
      op.getWeightsMutable().assign(UnpackOp::create(b, loc, type, packed, layout));
    }
  }
};

} // namespace
