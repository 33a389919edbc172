//===- OutlineParallelLoops.cpp - scf.forall bodies as functions ----------===//
//
// A bufferized one-dimensional scf.forall
//
//   scf.forall (%i) = (%lb) to (%ub) step (%step) { body(%i, %a, %b) }
//
// becomes a function that runs a range of its iterations
//
//   func.func private @f_parallel0(%begin: index, %end: index, %a, %b)
//       attributes {tessera.parallel_body} {
//     scf.for %t = %begin to %end step 1 { body(%lb + %t * %step, %a, %b) }
//   }
//
// and a call of it over every iteration, which tessera-lower-parallel-calls
// turns into a call of the runtime's thread pool.
//
//===----------------------------------------------------------------------===//

#include "tessera/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_TESSERAOUTLINEPARALLELLOOPS
#include "tessera/Dialect/TesseraPasses.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {


/// Outlines `loop` (one-dimensional, no shared outputs) into a new function
/// inserted after `parent`, and replaces it by a call.
void outline(scf::ForallOp loop, func::FuncOp parent, SymbolTable &symbols,
             IRRewriter &rewriter) {
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  Value lb = getValueOrCreateConstantIndexOp(rewriter, loc, loop.getMixedLowerBound()[0]);
  Value ub = getValueOrCreateConstantIndexOp(rewriter, loc, loop.getMixedUpperBound()[0]);
  Value step = getValueOrCreateConstantIndexOp(rewriter, loc, loop.getMixedStep()[0]);

  // Values the body needs: constants are cloned into it, the rest passed.
  llvm::SetVector<Value> used;
  getUsedValuesDefinedAbove(loop.getRegion(), used);
  used.insert(lb);
  used.insert(step);
  SmallVector<Value> passed;
  SmallVector<Operation *> constants;
  for (Value v : used) {
    Operation *def = v.getDefiningOp();
    if (def && def->getNumResults() == 1 && matchPattern(v, m_Constant()))
      constants.push_back(def);
    else
      passed.push_back(v);
  }

  Type index = rewriter.getIndexType();
  SmallVector<Type> argTypes = {index, index};
  for (Value v : passed)
    argTypes.push_back(v.getType());
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointAfter(parent);
  auto body = func::FuncOp::create(rewriter, loc,
                                   (parent.getSymName() + "_parallel").str(),
                                   rewriter.getFunctionType(argTypes, {}));
  body.setPrivate();
  body->setAttr(tessera::kParallelBodyAttrName, rewriter.getUnitAttr());
  symbols.insert(body); // renames it if the name is taken
  Block *entry = body.addEntryBlock();

  rewriter.setInsertionPointToStart(entry);
  IRMapping mapping;
  for (Operation *c : constants)
    rewriter.clone(*c, mapping);
  for (auto [v, arg] : llvm::zip(passed, entry->getArguments().drop_front(2)))
    mapping.map(v, arg);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  scf::ForOp::create(
      rewriter, loc, entry->getArgument(0), entry->getArgument(1), one, ValueRange{},
      [&](OpBuilder &b, Location loc, Value t, ValueRange) {
        Value iv = arith::AddIOp::create(
            b, loc, mapping.lookup(lb),
            arith::MulIOp::create(b, loc, t, mapping.lookup(step)));
        mapping.map(loop.getInductionVar(0), iv);
        for (Operation &op : loop.getBody()->without_terminator())
          b.clone(op, mapping);
        scf::YieldOp::create(b, loc);
      });
  func::ReturnOp::create(rewriter, loc);

  // The call over every iteration: ceil((ub - lb) / step).
  rewriter.setInsertionPoint(loop);
  Value count = arith::CeilDivSIOp::create(
      rewriter, loc, arith::SubIOp::create(rewriter, loc, ub, lb), step);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  SmallVector<Value> operands = {zero, count};
  operands.append(passed.begin(), passed.end());
  func::CallOp::create(rewriter, loc, body, operands);
  rewriter.eraseOp(loop);
}

struct TesseraOutlineParallelLoopsPass
    : public mlir::tessera::impl::TesseraOutlineParallelLoopsBase<
          TesseraOutlineParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    IRRewriter rewriter(&getContext());
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      // Innermost loops first: an outer body then calls the inner one,
      // which the runtime runs serially on the outer one's thread.
      SmallVector<scf::ForallOp> loops;
      func.walk([&](scf::ForallOp loop) { loops.push_back(loop); });
      for (scf::ForallOp loop : loops) {
        if (!loop.getOutputs().empty()) {
          loop.emitOpError("has shared outputs: run "
                           "tessera-outline-parallel-loops after bufferization");
          return signalPassFailure();
        }
        if (threads == 1 || loop.getRank() != 1) {
          rewriter.setInsertionPoint(loop);
          if (failed(scf::forallToForLoop(rewriter, loop)))
            return signalPassFailure();
          continue;
        }
        outline(loop, func, symbols, rewriter);
      }
    }
  }
};

} // namespace
