//===- PackFunctionBoundaries.cpp - Packed low-bit tensors at the ABI -----===//
//
// Functions take and return low-bit tensors in their canonical packed storage
// (tensor<ceil(n*b/8) x i8>); inside, tessera.unpack / tessera.pack convert to
// and from the logical tensor. Tensors of other types with a layout (group
// scales read in spans of columns) cross as linalg.pack tiles.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "WeightLayouts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERAPACKFUNCTIONBOUNDARIES
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Returns the low-bit tensor type of `type`, or null if it is not one.
RankedTensorType getLowBitTensorType(Type type) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (tensorType && isLowBitType(tensorType.getElementType()))
    return tensorType;
  return nullptr;
}

/// The storage layout of a boundary value from its `tessera.layout`
/// attribute (null: canonical).
LayoutAttr layoutOf(DictionaryAttr attrs) {
  return attrs ? attrs.getAs<LayoutAttr>(kLayoutAttrName) : LayoutAttr();
}

/// The tensor of another element type than low-bit codes that its layout
/// (non-null) tiles at a boundary (WeightLayouts.h), or null.
RankedTensorType getTiledTensorType(Type type, LayoutAttr layout) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!layout || !tensorType || getLowBitTensorType(type))
    return nullptr;
  return tensorType;
}

/// Maps a boundary type to its ABI type.
Type getBoundaryType(Type type, LayoutAttr layout) {
  if (RankedTensorType lowBit = getLowBitTensorType(type))
    return getPackedStorageType(lowBit, layout ? layout.getPackedLayout()
                                               : PackedLayout());
  if (RankedTensorType tiled = getTiledTensorType(type, layout))
    return getTiledStorageType(tiled, layout);
  return type;
}

/// Replaces each low-bit value in `values` by its packed storage, and each
/// value of another type with a layout by its tiles (in layouts[i]), built
/// at the builder's insertion point.
SmallVector<Value> packValues(OpBuilder &b, Location loc, ValueRange values,
                              ArrayRef<LayoutAttr> layouts) {
  SmallVector<Value> result;
  for (auto [i, v] : llvm::enumerate(values)) {
    if (RankedTensorType lowBit = getLowBitTensorType(v.getType()))
      v = PackOp::create(b, loc, getBoundaryType(lowBit, layouts[i]), v,
                         layouts[i]);
    else if (getTiledTensorType(v.getType(), layouts[i]))
      v = createTilePack(b, loc, v, layouts[i]);
    result.push_back(v);
  }
  return result;
}

/// Gives `value` (an entry argument or a call result, of its logical type)
/// its boundary type in `layout` and its uses the logical value, unpacked
/// or untiled at the builder's insertion point; nothing where the two types
/// are one.
void retypeAtBoundary(OpBuilder &b, Location loc, Value value, LayoutAttr layout) {
  Type logical = value.getType();
  Type boundary = getBoundaryType(logical, layout);
  if (boundary == logical)
    return;
  value.setType(boundary);
  Value unpacked;
  if (RankedTensorType lowBit = getLowBitTensorType(logical))
    unpacked = UnpackOp::create(b, loc, lowBit, value, layout);
  else
    unpacked = createTileUnpack(b, loc, value, cast<RankedTensorType>(logical), layout);
  value.replaceAllUsesExcept(unpacked, unpacked.getDefiningOp());
}

struct TesseraPackFunctionBoundariesPass
    : public mlir::tessera::impl::TesseraPackFunctionBoundariesBase<
          TesseraPackFunctionBoundariesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::SmallPtrSet<Operation *, 8> changed;
    // Per rewritten function, the layouts of its arguments and results.
    llvm::DenseMap<Operation *,
                   std::pair<SmallVector<LayoutAttr>, SmallVector<LayoutAttr>>>
        layouts;
    bool failed = false;

    for (auto func : module.getOps<func::FuncOp>()) {
      FunctionType type = func.getFunctionType();
      bool needsChange = false;
      for (Type t : llvm::concat<const Type>(type.getInputs(),
                                             type.getResults())) {
        RankedTensorType lowBit = getLowBitTensorType(t);
        if (!lowBit)
          continue;
        if (!lowBit.hasStaticShape()) {
          func.emitOpError("low-bit tensor ")
              << lowBit << " at a function boundary needs a static shape "
              << "to have a packed storage size";
          failed = true;
        }
        needsChange = true;
      }
      // Other tensors with a layout: tiled.
      auto checkTiled = [&](Type t, DictionaryAttr attrs, StringRef what, unsigned i) {
        RankedTensorType tiled = getTiledTensorType(t, layoutOf(attrs));
        if (!tiled)
          return;
        std::string error;
        if (!verifyTiledLayout(tiled, layoutOf(attrs), error)) {
          func.emitOpError() << what << " " << i << " of type " << tiled << " has layout "
                             << layoutOf(attrs) << ", which needs " << error;
          failed = true;
        }
        needsChange = true;
      };
      for (auto [i, t] : llvm::enumerate(type.getInputs()))
        checkTiled(t, func.getArgAttrDict(i), "argument", i);
      for (auto [i, t] : llvm::enumerate(type.getResults()))
        checkTiled(t, func.getResultAttrDict(i), "result", i);
      if (!needsChange || failed)
        continue;
      changed.insert(func);

      SmallVector<LayoutAttr> argLayouts, resultLayouts;
      SmallVector<Type> newInputs, newResults;
      for (auto [i, t] : llvm::enumerate(type.getInputs())) {
        argLayouts.push_back(layoutOf(func.getArgAttrDict(i)));
        newInputs.push_back(getBoundaryType(t, argLayouts.back()));
      }
      for (auto [i, t] : llvm::enumerate(type.getResults())) {
        resultLayouts.push_back(layoutOf(func.getResultAttrDict(i)));
        newResults.push_back(getBoundaryType(t, resultLayouts.back()));
      }
      layouts[func] = {argLayouts, resultLayouts};
      func.setFunctionType(
          FunctionType::get(&getContext(), newInputs, newResults));
      if (func.isExternal())
        continue;

      // Arguments: unpack at the entry.
      Block &entry = func.getBody().front();
      OpBuilder b(&getContext());
      b.setInsertionPointToStart(&entry);
      for (BlockArgument arg : entry.getArguments())
        retypeAtBoundary(b, arg.getLoc(), arg, argLayouts[arg.getArgNumber()]);
      // Results: pack before each return.
      func.walk([&](func::ReturnOp ret) {
        b.setInsertionPoint(ret);
        ret->setOperands(
            packValues(b, ret.getLoc(), ret.getOperands(), resultLayouts));
      });
    }
    if (failed)
      return signalPassFailure();

    // Calls to rewritten functions pass and receive packed storage too.
    module.walk([&](func::CallOp call) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (!callee || !changed.contains(callee))
        return;
      OpBuilder b(call);
      auto &[argLayouts, resultLayouts] = layouts[callee];
      call->setOperands(
          packValues(b, call.getLoc(), call.getOperands(), argLayouts));
      b.setInsertionPointAfter(call);
      for (OpResult result : call->getResults())
        retypeAtBoundary(b, call.getLoc(), result, resultLayouts[result.getResultNumber()]);
    });
  }
};

} // namespace
