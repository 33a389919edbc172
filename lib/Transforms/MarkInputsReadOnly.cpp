//===- MarkInputsReadOnly.cpp - Inputs of public functions are read-only --===//
//
// A caller's input buffers must never be written: mark every tensor argument
// of a public function `bufferization.writable = false`, so that One-Shot
// Bufferize copies an argument before writing into it (for example when it
// is the `outs` of a destination-style op).
//
//===----------------------------------------------------------------------===//

#include "tessera/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERAMARKINPUTSREADONLY
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
struct TesseraMarkInputsReadOnlyPass
    : public mlir::tessera::impl::TesseraMarkInputsReadOnlyBase<
          TesseraMarkInputsReadOnlyPass> {
  void runOnOperation() override {
    OpBuilder b(&getContext());
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        if (isa<TensorType>(func.getArgument(i).getType()))
          func.setArgAttr(i,
                          bufferization::BufferizationDialect::kWritableAttrName,
                          b.getBoolAttr(false));
    }
  }
};
} // namespace
