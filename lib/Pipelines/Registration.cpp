//===- Registration.cpp - The passes a Tessera tool registers -------------===//
//
// The passes and pipelines; the dialects are in RegisterDialects.cpp. Each
// of the two includes upstream's registerAll* headers, the most expensive
// of the project to compile.
//
//===----------------------------------------------------------------------===//

#include "tessera/Pipelines/Registration.h"
#include "tessera/Passes.h"
#include "tessera/Pipelines/Pipelines.h"

#include "mlir/InitAllPasses.h"

void mlir::tessera::registerAllTesseraPasses() {
  registerAllPasses();
  registerTesseraPasses();
  registerCpuPipeline();
  registerCudaPipeline();
}
