//===- AllowLargeMmaKernels.cpp - Registers for tensor-core kernels -------===//
//
// A kernel whose block size is known gets `.maxntid` from the NVVM lowering,
// and ptxas then keeps such a kernel at 128 registers per thread (enough
// for several resident blocks) even if it must spill to do so. Tensor-core
// kernels hold a warp's accumulator tile in registers across all of K: a
// spill there costs local-memory traffic in the inner loop. This pass sets
// `nvvm.minctasm = 1` (`.minnctapersm 1`) on every kernel that issues
// `nvgpu.mma.sync`, so that ptxas may use up to 255 registers rather than
// spill.
//
//===----------------------------------------------------------------------===//

#include "tessera/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERAALLOWLARGEMMAKERNELS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
struct AllowLargeMmaKernelsPass
    : tessera::impl::TesseraAllowLargeMmaKernelsBase<AllowLargeMmaKernelsPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    getOperation().walk([&](gpu::GPUFuncOp kernel) {
      if (!kernel.isKernel())
        return;
      bool issuesMma =
          kernel.walk([](nvgpu::MmaSyncOp) { return WalkResult::interrupt(); })
              .wasInterrupted();
      if (issuesMma)
        kernel->setAttr("nvvm.minctasm", b.getI32IntegerAttr(1));
    });
  }
};
} // namespace
