//===- RunPipeline.h - Running a named pipeline on a module ------*- C++ -*-===//
//
// Private to lib/Pipelines: what runCpuPipeline and runCudaPipeline share.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_PIPELINES_RUNPIPELINE_H
#define TESSERA_LIB_PIPELINES_RUNPIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <string>

namespace mlir {
class OpPassManager;
namespace tessera {

/// Runs the pipeline `build` appends on `module`, writing an MLIR reproducer
/// to `crashReproducer` (if not empty) when a pass fails or crashes. On
/// failure appends to `error` a note naming the pipeline (`name` and its
/// passes) and where the reproducer is.
LogicalResult runPipeline(ModuleOp module, llvm::StringRef name,
                          llvm::function_ref<void(OpPassManager &)> build,
                          const std::string &crashReproducer,
                          std::string &error);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_LIB_PIPELINES_RUNPIPELINE_H
