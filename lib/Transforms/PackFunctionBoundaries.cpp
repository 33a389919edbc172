//===- PackFunctionBoundaries.cpp - Packed low-bit tensors at the ABI -----===//
//
// Functions take and return low-bit tensors in their canonical packed storage
// (tensor<ceil(n*b/8) x i8>); inside, tessera.unpack / tessera.pack convert to
// and from the logical tensor.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
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

/// Maps a boundary type to its ABI type.
Type getBoundaryType(Type type) {
  if (RankedTensorType lowBit = getLowBitTensorType(type))
    return getPackedStorageType(lowBit);
  return type;
}

/// Replaces each low-bit value in `values` by its packed storage, built at
/// the builder's insertion point.
SmallVector<Value> packValues(OpBuilder &b, Location loc, ValueRange values) {
  SmallVector<Value> result;
  for (Value v : values) {
    if (RankedTensorType lowBit = getLowBitTensorType(v.getType()))
      v = PackOp::create(b, loc, getPackedStorageType(lowBit), v);
    result.push_back(v);
  }
  return result;
}

struct TesseraPackFunctionBoundariesPass
    : public mlir::tessera::impl::TesseraPackFunctionBoundariesBase<
          TesseraPackFunctionBoundariesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::SmallPtrSet<Operation *, 8> changed;
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
      if (!needsChange || failed)
        continue;
      changed.insert(func);

      auto newInputs = llvm::map_to_vector(type.getInputs(), getBoundaryType);
      auto newResults =
          llvm::map_to_vector(type.getResults(), getBoundaryType);
      func.setFunctionType(
          FunctionType::get(&getContext(), newInputs, newResults));
      if (func.isExternal())
        continue;

      // Arguments: unpack at the entry.
      Block &entry = func.getBody().front();
      OpBuilder b(&getContext());
      b.setInsertionPointToStart(&entry);
      for (BlockArgument arg : entry.getArguments()) {
        RankedTensorType lowBit = getLowBitTensorType(arg.getType());
        if (!lowBit)
          continue;
        arg.setType(getPackedStorageType(lowBit));
        auto unpack = UnpackOp::create(b, arg.getLoc(), lowBit, arg);
        arg.replaceAllUsesExcept(unpack.getResult(), unpack);
      }
      // Results: pack before each return.
      func.walk([&](func::ReturnOp ret) {
        b.setInsertionPoint(ret);
        ret->setOperands(packValues(b, ret.getLoc(), ret.getOperands()));
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
      call->setOperands(packValues(b, call.getLoc(), call.getOperands()));
      b.setInsertionPointAfter(call);
      for (OpResult result : call->getResults()) {
        RankedTensorType lowBit = getLowBitTensorType(result.getType());
        if (!lowBit)
          continue;
        result.setType(getPackedStorageType(lowBit));
        auto unpack = UnpackOp::create(b, call.getLoc(), lowBit, result);
        result.replaceAllUsesExcept(unpack.getResult(), unpack);
      }
    });
  }
};

} // namespace
