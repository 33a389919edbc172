//===- tessera-opt.cpp - Tessera optimizer driver -------------------------===//
//
// mlir-opt with the Tessera dialect, passes and pipelines added to every
// upstream dialect, pass and extension.
//
//===----------------------------------------------------------------------===//

#include "tessera/Pipelines/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::tessera::registerAllTesseraPasses();
  mlir::DialectRegistry registry;
  mlir::tessera::registerAllTesseraDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Tessera optimizer driver\n", registry));
}
