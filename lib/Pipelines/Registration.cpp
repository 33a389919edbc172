//===- Registration.cpp - Everything a Tessera tool registers -------------===//
//
// The registerAll* calls live in this one translation unit: it is the most
// expensive file of the project to compile.
//
//===----------------------------------------------------------------------===//

#include "tessera/Pipelines/Registration.h"
#include "tessera/Dialect/Tessera.h"
#include "tessera/Passes.h"
#include "tessera/Pipelines/Pipelines.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::tessera::registerAllTesseraDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // gpu-module-to-binary translates kernels to LLVM IR and serializes them
  // for the NVVM target.
  registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registry.insert<TesseraDialect>();
}

void mlir::tessera::registerAllTesseraPasses() {
  registerAllPasses();
  registerTesseraPasses();
  registerCpuPipeline();
  registerCudaPipeline();
}
