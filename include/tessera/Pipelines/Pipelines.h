//===- Pipelines.h - Tessera end-to-end pipelines ----------------*- C++ -*-===//

#ifndef TESSERA_PIPELINES_PIPELINES_H
#define TESSERA_PIPELINES_PIPELINES_H

#include <cstdint>
#include <string>

namespace llvm {
struct LogicalResult;
} // namespace llvm

namespace mlir {
class ModuleOp;
class OpPassManager;
using llvm::LogicalResult;

namespace tessera {

/// Options of the CPU pipeline.
struct CpuPipelineOptions {
  /// Where runCpuPipeline writes an MLIR reproducer (the input module and
  /// the pipeline, replayable with `tessera-opt --run-reproducer`) when a
  /// pass fails or crashes; none when empty.
  std::string crashReproducer;
  /// Threads for parallel loops: 1 compiles serial code; 0 uses the
  /// runtime's thread count at each call (TESSERA_NUM_THREADS, else the
  /// machine's cores, or what <prefix>_set_num_threads set); N > 1 at most N.
  int64_t threads = 0;
  /// Vector registers of the target CPU (16: AVX2, 32: AVX-512VL); 0 asks
  /// the host.
  int64_t vectorRegisters = 0;
  /// How tessera.mpmm ops without a `strategy` attribute are computed:
  /// "dequantize" (the default: exact up to f32 rounding; weights in the
  /// canonical storage, or interleaved per dequantizeLayouts), "auto" (tessera-choose-mpmm-strategy's heuristic,
  /// which picks the lossy int8-table LUT strategy where it is faster), "lut"
  /// (T-MAC, int8 tables) or "lut_f32".
  std::string mpmmStrategy = "dequantize";
  /// Bytes per byte shuffle of the target for the LUT kernel (32: AVX2,
  /// 64: AVX-512BW, 0: none); -1 asks the host.
  int64_t lutLanes = -1;
  /// Whether the target has 64-byte permutes and byte dot products
  /// (AVX512-VBMI and AVX512-VNNI) for the LUT kernel: 1 yes, 0 no, -1 asks
  /// the host.
  int64_t lutBytePermute = -1;
  /// Whether the target has byte dot products (AVX512-VNNI), which the
  /// dequantize kernel's row kernels use with 32 vector registers (and,
  /// with lutBytePermute's AVX512-VBMI too, for 5-7 bit codes in tiles of
  /// 16 x 4): 1 yes, 0 no, -1 asks the host.
  int64_t byteDots = -1;
  /// Whether the weights of dequantize-strategy mpmms that the vector
  /// kernel reads interleaved get that layout (tessera-assign-mpmm-layouts:
  /// arguments then take prepacked storage; constants are packed at compile
  /// time). Off, they stay canonical.
  bool dequantizeLayouts = true;
  /// Every Tessera op through the reference lowering (linalg), none through
  /// the vector kernels: the oracle that the fuzzers' reducer compares the
  /// kernels with.
  bool referenceLowering = false;
};

/// The vector registers of this machine's CPU, for CpuPipelineOptions.
int64_t hostVectorRegisters();

/// The byte-shuffle width of this machine's CPU (64 with AVX-512BW, 32 with
/// AVX2, else 0), for CpuPipelineOptions::lutLanes.
int64_t hostLutLanes();

/// Whether this machine's CPU has AVX512-VBMI and AVX512-VNNI, for
/// CpuPipelineOptions::lutBytePermute.
bool hostLutBytePermute();

/// Whether this machine's CPU has AVX512-VNNI, for
/// CpuPipelineOptions::byteDots.
bool hostByteDots();

/// Appends the passes that fix the ABI to `pm`: each mpmm's strategy, the
/// layouts of LUT weights (with their prepack functions), and low-bit
/// tensors packed at function boundaries (unless `packBoundaries` is false).
/// The CPU pipeline starts with them; lowerSignatures runs them alone.
void buildAbiPipeline(OpPassManager &pm, const CpuPipelineOptions &options,
                      bool packBoundaries = true);

/// Appends the CPU pipeline to `pm` (anchored on builtin.module): from a
/// module of Tessera, linalg, tensor and arith ops on tensors to the LLVM
/// dialect, ready for translation to LLVM IR.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Runs the CPU pipeline on `module`. On failure, appends to `error` a note
/// naming the pipeline, and where the reproducer was written if
/// options.crashReproducer is set (the diagnostics go to the context's
/// handler).
LogicalResult runCpuPipeline(ModuleOp module, const CpuPipelineOptions &options,
                             std::string &error);

/// Registers `tessera-cpu-pipeline`.
void registerCpuPipeline();

/// Options of the CUDA pipeline.
struct CudaPipelineOptions {
  /// The GPU architecture the binary is for: sm_80, sm_89, sm_90, sm_90a...
  std::string chip = "sm_80";
  /// PTX ISA version and other NVPTX features (sm_90a needs +ptx80).
  std::string features = "+ptx80";
  /// What gpu-module-to-binary embeds: "fatbin" (cubin and PTX, the
  /// default), "bin" (cubin), "isa" (PTX, compiled by the driver at load).
  std::string format = "fatbin";
  /// Optimization level of the NVPTX back end and ptxas.
  int optLevel = 3;
  /// mpmm with at least this many rows of x runs on tensor cores (mma.sync
  /// with f16 operands, f32 accumulators); 0 keeps every M on the f32
  /// CUDA-core kernels. Architectures before sm_80 never take them.
  int64_t mmaMinRows = 32;
  /// As CpuPipelineOptions::crashReproducer.
  std::string crashReproducer;
};

/// The options that shape the ABI of what the CUDA pipeline compiles, for
/// its ABI passes and lowerSignatures alike: every mpmm dequantized, its
/// weights in the canonical storage (the GPU kernels read those).
CpuPipelineOptions getCudaAbiOptions();

/// Appends the CUDA pipeline to `pm`: the same front half as the CPU
/// pipeline (ABI, reference lowering to linalg, bufferization), then every
/// loop mapped to GPU blocks and threads, buffers in device memory, kernels
/// through NVVM and ptxas into a binary embedded in the host module, whose
/// launches call the runtime's CUDA driver loader (the mgpu* functions).
/// The functions' tensors are device pointers.
void buildCudaPipeline(OpPassManager &pm, const CudaPipelineOptions &options);

/// Runs the CUDA pipeline on `module` (errors as runCpuPipeline).
LogicalResult runCudaPipeline(ModuleOp module,
                              const CudaPipelineOptions &options,
                              std::string &error);

/// Registers `tessera-cuda-pipeline`.
void registerCudaPipeline();

} // namespace tessera
} // namespace mlir

#endif // TESSERA_PIPELINES_PIPELINES_H
