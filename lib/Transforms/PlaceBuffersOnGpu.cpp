//===- PlaceBuffersOnGpu.cpp - Host buffers into GPU memory ---------------===//
//
// After the CUDA pipeline has mapped every loop to a gpu.launch, the host
// code of a function allocates, copies and launches. This pass moves its
// buffers into device memory and frees the temporaries.
//
//===----------------------------------------------------------------------===//

#include "tessera/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERAPLACEBUFFERSONGPU
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {

/// The buffer `v` is a view of (through view-like ops), or `v` itself.
Value rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// Whether `op`, a host op, reads or writes the contents of a buffer.
bool touchesBufferContents(Operation *op) {
  if (isa<gpu::GPUDialect>(op->getDialect()) || isa<memref::DimOp>(op) ||
      isa<ViewLikeOpInterface>(op) || isa<func::ReturnOp>(op))
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return llvm::any_of(op->getOperandTypes(),
                        [](Type t) { return isa<BaseMemRefType>(t); }) &&
           !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>();
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  return llvm::any_of(list, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect()) &&
           e.getValue() && isa<BaseMemRefType>(e.getValue().getType());
  });
}

LogicalResult placeBuffers(func::FuncOp func) {
  if (func.isExternal())
    return success();
  if (!func.getBody().hasOneBlock())
    return func.emitError("the CUDA pipeline needs host code without control "
                          "flow; this function has ")
           << func.getBlocks().size() << " blocks";
  Block &body = func.getBody().front();
  SmallVector<Value> allocated;
  IRRewriter rewriter(func.getContext());

  for (Operation &op : llvm::make_early_inc_range(body)) {
    rewriter.setInsertionPoint(&op);
    Location loc = op.getLoc();
    auto allocate = [&](MemRefType type, ValueRange sizes) {
      // memref.alloc's alignment is at most 64; CUDA's allocations are
      // aligned to 256 bytes.
      auto alloc = gpu::AllocOp::create(rewriter, loc, type, Type(),
                                        ValueRange(), sizes, ValueRange());
      allocated.push_back(alloc.getMemref());
      return alloc.getMemref();
    };
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      rewriter.replaceOp(alloc, allocate(alloc.getType(), alloc.getDynamicSizes()));
    } else if (auto alloca = dyn_cast<memref::AllocaOp>(op)) {
      rewriter.replaceOp(alloca,
                         allocate(alloca.getType(), alloca.getDynamicSizes()));
    } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      gpu::MemcpyOp::create(rewriter, loc, Type(), ValueRange(),
                            copy.getTarget(), copy.getSource());
      rewriter.eraseOp(copy);
    } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      rewriter.eraseOp(dealloc); // freed below, with the other temporaries
    } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
      // Host data: copied into device memory at every call.
      Value device = allocate(global.getType(), ValueRange());
      rewriter.setInsertionPointAfter(global);
      auto copy = gpu::MemcpyOp::create(rewriter, loc, Type(), ValueRange(),
                                        device, global.getResult());
      rewriter.replaceAllUsesExcept(global.getResult(), device, copy);
    } else if (!isa<gpu::LaunchOp>(op)) {
      // This op and, for control flow (a run-time choice between kernels),
      // those nested in it outside kernels: no memory access, no buffers.
      WalkResult result = op.walk<WalkOrder::PreOrder>([&](Operation *nested) {
        if (isa<gpu::LaunchOp>(nested))
          return WalkResult::skip();
        if (nested != &op &&
            isa<memref::AllocOp, memref::AllocaOp, memref::GetGlobalOp>(nested)) {
          nested->emitError("the CUDA pipeline allocates buffers only at the "
                            "top level of a function");
          return WalkResult::interrupt();
        }
        if (touchesBufferContents(nested)) {
          nested->emitError("the host cannot access GPU memory: this op is "
                            "left outside the GPU kernels of the CUDA pipeline");
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      });
      if (result.wasInterrupted())
        return failure();
    }
  }

  // Temporaries die at every return; returned buffers (and those they are
  // views of) are the caller's.
  func.walk([&](func::ReturnOp ret) {
    llvm::SmallPtrSet<Value, 4> returned;
    for (Value v : ret.getOperands())
      returned.insert(rootBuffer(v));
    rewriter.setInsertionPoint(ret);
    for (Value buffer : allocated)
      if (!returned.contains(buffer))
        gpu::DeallocOp::create(rewriter, ret.getLoc(), Type(), ValueRange(),
                               buffer);
  });
  return success();
}

struct PlaceBuffersOnGpuPass
    : tessera::impl::TesseraPlaceBuffersOnGpuBase<PlaceBuffersOnGpuPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(placeBuffers(func)))
        return signalPassFailure();
  }
};

} // namespace
