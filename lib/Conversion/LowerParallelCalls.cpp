//===- LowerParallelCalls.cpp - Parallel bodies on the thread pool --------===//
//
// On the LLVM dialect: a call of a function marked tessera.parallel_body,
// `call @body(%begin, %end, %args...)`, runs its range on the runtime's
// thread pool instead:
//
//   %ctx = alloca {begin, args...}                   (caller's entry block)
//   store %begin, %args... to %ctx
//   call @tessera_rt_parallel_for(%end - %begin, 1, threads,
//                                 @body_trampoline, %ctx)
//
//   func @body_trampoline(%ctx, %b, %e) {            (internal)
//     load begin, args... from %ctx
//     call @body(begin + %b, begin + %e, args...)
//   }
//
//===----------------------------------------------------------------------===//

#include "tessera/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERALOWERPARALLELCALLS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kParallelFor = "tessera_rt_parallel_for";

struct TesseraLowerParallelCallsPass
    : public mlir::tessera::impl::TesseraLowerParallelCallsBase<
          TesseraLowerParallelCallsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SymbolTable symbols(module);
    OpBuilder b(ctx);
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    Type i32 = b.getI32Type(), i64 = b.getI64Type();

    SmallVector<LLVM::LLVMFuncOp> bodies;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>())
      if (func->hasAttr(tessera::kParallelBodyAttrName))
        bodies.push_back(func);
    if (bodies.empty())
      return;

    auto runtime = symbols.lookup<LLVM::LLVMFuncOp>(kParallelFor);
    if (!runtime) {
      b.setInsertionPointToEnd(module.getBody());
      runtime = LLVM::LLVMFuncOp::create(
          b, module.getLoc(), kParallelFor,
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                      {i64, i64, i32, ptrType, ptrType}));
      symbols.insert(runtime);
    }

    for (LLVM::LLVMFuncOp body : bodies) {
      auto type = body.getFunctionType();
      if (type.getNumParams() < 2 || type.getParamType(0) != i64 ||
          type.getParamType(1) != i64) {
        body.emitOpError("is marked ") << tessera::kParallelBodyAttrName
                                       << " but does not take (i64 begin, i64 end, ...)";
        return signalPassFailure();
      }
      // The context: begin, then the arguments after end.
      SmallVector<Type> fields = {i64};
      llvm::append_range(fields, type.getParams().drop_front(2));
      auto contextType = LLVM::LLVMStructType::getLiteral(ctx, fields);
      Location loc = body.getLoc();

      // The calls (before the trampoline adds its own).
      SmallVector<LLVM::CallOp> calls;
      module.walk([&](LLVM::CallOp call) {
        if (call.getCallee() == body.getSymName())
          calls.push_back(call);
      });
      // The trampoline.
      b.setInsertionPointAfter(body);
      auto trampoline = LLVM::LLVMFuncOp::create(
          b, loc, (body.getSymName() + "_trampoline").str(),
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptrType, i64, i64}),
          LLVM::Linkage::Internal);
      symbols.insert(trampoline);
      Block *entry = trampoline.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      SmallVector<Value> loaded;
      for (auto [i, field] : llvm::enumerate(fields)) {
        Value address = LLVM::GEPOp::create(
            b, loc, ptrType, contextType, entry->getArgument(0),
            ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
        loaded.push_back(LLVM::LoadOp::create(b, loc, field, address));
      }
      SmallVector<Value> operands = {
          LLVM::AddOp::create(b, loc, loaded[0], entry->getArgument(1)),
          LLVM::AddOp::create(b, loc, loaded[0], entry->getArgument(2))};
      operands.append(loaded.begin() + 1, loaded.end());
      LLVM::CallOp::create(b, loc, body, operands);
      LLVM::ReturnOp::create(b, loc, ValueRange{});

      for (LLVM::CallOp call : calls) {
        auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
        Location loc = call.getLoc();
        b.setInsertionPointToStart(&caller.getBody().front());
        Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
        Value context = LLVM::AllocaOp::create(b, loc, ptrType, contextType, one);

        b.setInsertionPoint(call);
        ValueRange args = call.getArgOperands();
        SmallVector<Value> stored = {args[0]};
        stored.append(args.begin() + 2, args.end());
        for (auto [i, v] : llvm::enumerate(stored)) {
          Value address = LLVM::GEPOp::create(b, loc, ptrType, contextType, context,
                                              ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
          LLVM::StoreOp::create(b, loc, v, address);
        }
        Value count = LLVM::SubOp::create(b, loc, args[1], args[0]);
        Value grain = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
        Value maxThreads =
            LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(int32_t(threads)));
        Value function = LLVM::AddressOfOp::create(b, loc, trampoline);
        LLVM::CallOp::create(b, loc, runtime,
                             ValueRange{count, grain, maxThreads, function, context});
        call.erase();
      }
    }
  }
};

} // namespace
