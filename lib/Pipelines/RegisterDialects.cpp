//===- RegisterDialects.cpp - The dialects a Tessera tool registers -------===//
//
// Apart from the passes (Registration.cpp) so that what only parses and
// prints IR, as the IR fuzzer does, links the dialects without the
// compiler's passes and pipelines.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera.h"
#include "tessera/Pipelines/Registration.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
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
