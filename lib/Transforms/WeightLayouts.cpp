//===- WeightLayouts.cpp - Giving kernel weights a storage layout ---------===//

#include "WeightLayouts.h"

#include "tessera/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::tessera;

bool mlir::tessera::hasLayout(Value v, LayoutAttr layout) {
  auto unpack = v.getDefiningOp<UnpackOp>();
  return unpack && unpack.getLayout() == layout;
}

bool mlir::tessera::hasAnyLayout(Value v) {
  if (auto unpack = v.getDefiningOp<UnpackOp>())
    return bool(unpack.getLayout());
  auto arg = dyn_cast<BlockArgument>(v);
  auto func =
      arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : nullptr;
  return func && arg.getOwner()->isEntryBlock() &&
         func.getArgAttr(arg.getArgNumber(), kLayoutAttrName);
}

/// Creates `prepack_<func>_<arg>`: canonical storage in, `layout` out.
static void createPrepackFunction(ModuleOp module, func::FuncOp func, unsigned argIndex,
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

void mlir::tessera::assignWeightLayout(OpOperand &weights, LayoutAttr layout,
                                       function_ref<bool(OpOperand &)> readsLayout) {
  Value value = weights.get();
  Operation *op = weights.getOwner();
  auto type = cast<RankedTensorType>(value.getType());

  if (auto arg = dyn_cast<BlockArgument>(value)) {
    auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    bool onlyReaders =
        llvm::all_of(arg.getUses(), [&](OpOperand &use) { return readsLayout(use); });
    if (func && func.isPublic() && arg.getOwner()->isEntryBlock() && onlyReaders) {
      if (!func.getArgAttr(arg.getArgNumber(), kLayoutAttrName)) {
        func.setArgAttr(arg.getArgNumber(), kLayoutAttrName, layout);
        createPrepackFunction(func->getParentOfType<ModuleOp>(), func, arg.getArgNumber(),
                              layout);
      }
      return;
    }
  }

  OpBuilder b(op);
  Location loc = op->getLoc();
  DenseElementsAttr dense;
  if (auto cst = value.getDefiningOp<arith::ConstantOp>())
    dense = dyn_cast<DenseElementsAttr>(cst.getValue());
  if (dense) {
    Value storage =
        arith::ConstantOp::create(b, loc, packLowBitConstant(dense, layout.getPackedLayout()));
    weights.set(UnpackOp::create(b, loc, type, storage, layout));
    return;
  }
  Value packed = PackOp::create(
      b, loc, getPackedStorageType(type, layout.getPackedLayout()), value, layout);
  weights.set(UnpackOp::create(b, loc, type, packed, layout));
}
