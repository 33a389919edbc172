//===- Pipelines.h - Tessera end-to-end pipelines ----------------*- C++ -*-===//

#ifndef TESSERA_PIPELINES_PIPELINES_H
#define TESSERA_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;

namespace tessera {

/// Options of the CPU pipeline.
struct CpuPipelineOptions {};

/// Appends the CPU pipeline to `pm` (anchored on builtin.module): from a
/// module of Tessera, linalg, tensor and arith ops on tensors to the LLVM
/// dialect, ready for translation to LLVM IR.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `tessera-cpu-pipeline`.
void registerCpuPipeline();

} // namespace tessera
} // namespace mlir

#endif // TESSERA_PIPELINES_PIPELINES_H
