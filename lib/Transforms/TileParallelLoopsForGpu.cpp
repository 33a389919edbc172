//===- TileParallelLoopsForGpu.cpp - Threads along the innermost dimension ===//

#include "tessera/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERATILEPARALLELLOOPSFORGPU
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {

/// Whether `loop` or a loop in it already says where it runs (the
/// tensor-core mpmm kernel's thread loop; the canonicalizer may have
/// rebuilt the block loop around it without its mapping).
bool isMapped(scf::ParallelOp loop) {
  return loop
      ->walk([](scf::ParallelOp inner) {
        return inner->hasAttr(gpu::getMappingAttrName()) ? WalkResult::interrupt()
                                                         : WalkResult::advance();
      })
      .wasInterrupted();
}

struct TileParallelLoopsForGpuPass
    : tessera::impl::TesseraTileParallelLoopsForGpuBase<
          TileParallelLoopsForGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    if (threadsPerBlock < 32 || threadsPerBlock % 32 != 0) {
      getOperation().emitError("threads-per-block must be a positive multiple "
                               "of 32, got ")
          << static_cast<int64_t>(threadsPerBlock);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() && !isMapped(loop))
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost) {
      size_t rank = loop.getNumLoops();
      SmallVector<int64_t> sizes(rank, 1);
      int64_t threads = threadsPerBlock;
      // A short innermost dimension: one warp-rounded tile covers it.
      std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound().back());
      std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound().back());
      std::optional<int64_t> step = getConstantIntValue(loop.getStep().back());
      if (lb && ub && step && *step > 0) {
        int64_t trips = (*ub - *lb + *step - 1) / *step;
        threads = std::min(threads, std::max<int64_t>(32, (trips + 31) / 32 * 32));
      }
      sizes.back() = threads;
      tileParallelLoop(loop, sizes, /*noMinMaxBounds=*/true);
    }
  }
};

} // namespace
