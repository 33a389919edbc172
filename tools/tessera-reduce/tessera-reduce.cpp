//===- tessera-reduce.cpp - Test case reduction for Tessera IR ------------===//
//
// mlir-reduce with the Tessera dialect and passes: shrinks a module while an
// "interesting" script (for example, one that runs tessera-opt or
// tessera-compile and greps for a crash) keeps succeeding.
//
//   tessera-reduce bug.mlir --test=./still-fails.sh \
//       --reduction-tree='traversal-mode=0 test=./still-fails.sh' -o small.mlir
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Pipelines/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Tools/mlir-reduce/MlirReduceMain.h"

int main(int argc, char **argv) {
  mlir::tessera::registerAllTesseraPasses();
  mlir::DialectRegistry registry;
  mlir::tessera::registerAllTesseraDialects(registry);
  mlir::MLIRContext context(registry);
  // The reduction tree takes patterns from loaded dialects only: the Tessera
  // dialect's (an op replaced by a same-typed operand) apply to programs
  // without Tessera ops too.
  context.loadDialect<mlir::tessera::TesseraDialect>();
  return mlir::failed(mlir::mlirReduceMain(argc, argv, context));
}
