//===- SetKernelMinBlocks.cpp - .minnctapersm for every kernel ------------===//
//
// ptxas sizes the registers of a kernel that has only `.maxntid` for an
// occupancy of its own choosing, and spills where the kernel needs more;
// `.minnctapersm` (nvvm.minctasm) states the occupancy the kernel needs.
//
//===----------------------------------------------------------------------===//

#include "tessera/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERASETKERNELMINBLOCKS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {

struct SetKernelMinBlocksPass
    : tessera::impl::TesseraSetKernelMinBlocksBase<SetKernelMinBlocksPass> {
  using Base::Base;

  void runOnOperation() override {
    if (minBlocks < 1) {
      getOperation().emitError("min-blocks must be at least 1, got ")
          << static_cast<int64_t>(minBlocks);
      return signalPassFailure();
    }
    // The attribute NVVM's translation turns into .minnctapersm.
    constexpr llvm::StringLiteral name = "nvvm.minctasm";
    Builder b(&getContext());
    getOperation().walk([&](gpu::GPUFuncOp func) {
      std::optional<ArrayRef<int32_t>> block = func.getKnownBlockSize();
      if (!func.isKernel() || func->hasAttr(name) || !block)
        return;
      int64_t threads = 1;
      for (int32_t size : *block)
        threads *= size;
      if (threads >= minThreads)
        func->setAttr(name, b.getI32IntegerAttr(minBlocks));
    });
  }
};

} // namespace
