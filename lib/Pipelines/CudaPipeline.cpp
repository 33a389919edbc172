//===- CudaPipeline.cpp - The Tessera CUDA pipeline -----------------------===//
//
// Reference code generation for NVIDIA GPUs: the CPU pipeline's front half,
// then upstream's mapping of parallel loops to blocks and threads, kernel
// outlining and its NVVM pipeline (NVVM, ptxas, the binary embedded in the
// host module). mpmm has its own kernels (split-K on CUDA cores, mma.sync
// on tensor cores from mma-min-rows rows); every other op the reference
// lowering turns into linalg runs on the GPU through upstream's mapping.
//
//===----------------------------------------------------------------------===//

#include "RunPipeline.h"
#include "tessera/Passes.h"
#include "tessera/Pipelines/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"

#include <cstdlib>

using namespace mlir;

namespace {

struct CudaPipelineCliOptions
    : public PassPipelineOptions<CudaPipelineCliOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("GPU architecture (sm_80, sm_89, "
                                          "sm_90, sm_90a, ...)"),
                           llvm::cl::init("sm_80")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("NVPTX features (PTX version)"),
                               llvm::cl::init("+ptx80")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Embedded binary: fatbin (cubin + PTX), bin (cubin) or "
                     "isa (PTX)"),
      llvm::cl::init("fatbin")};
  Option<int> optLevel{*this, "opt-level",
                       llvm::cl::desc("NVPTX and ptxas optimization level"),
                       llvm::cl::init(3)};
  Option<int64_t> mmaMinRows{
      *this, "mma-min-rows",
      llvm::cl::desc("Rows of x from which mpmm runs on tensor cores with f16 "
                     "operands (0: never)"),
      llvm::cl::init(32)};
};

/// Threads per block along the innermost mapped loop dimension.
constexpr int64_t kThreadsPerBlock = 128;

/// The compute capability of `chip` (sm_90a: 90), or 0 if it has none.
int computeCapability(llvm::StringRef chip) {
  int capability = 0;
  if (!chip.consume_front("sm_") ||
      chip.take_while(llvm::isDigit).getAsInteger(10, capability))
    return 0;
  return capability;
}

/// gpu-module-to-binary finds ptxas on PATH, but libdevice (the math
/// functions) only through CUDA_ROOT, CUDA_HOME or CUDA_PATH: without them a
/// kernel calling expf would not link. Points CUDA_ROOT at /usr/local/cuda
/// when none is set and the toolkit is there, so that both are found.
void locateCudaToolkit() {
  for (const char *var : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (const char *value = std::getenv(var); value && *value)
      return;
  if (llvm::sys::fs::exists("/usr/local/cuda/bin/ptxas"))
    ::setenv("CUDA_ROOT", "/usr/local/cuda", /*overwrite=*/0);
}

} // namespace

tessera::CpuPipelineOptions tessera::getCudaAbiOptions() {
  // The ABI passes of the CPU, with dequantize-then-multiply for every mpmm
  // (the LUT strategy is a CPU kernel) on canonical weights.
  CpuPipelineOptions abi;
  abi.mpmmStrategy = "dequantize";
  abi.lutLanes = 0;
  abi.lutBytePermute = 0;
  abi.byteDots = 0;
  abi.dequantizeLayouts = false;
  return abi;
}

void tessera::buildCudaPipeline(OpPassManager &pm,
                                const CudaPipelineOptions &options) {
  buildAbiPipeline(pm, getCudaAbiOptions());
  pm.addPass(tessera::createTesseraMarkInputsReadOnly());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  // mpmm as a fused split-K nest of GPU threads where it fits; everything
  // else through the reference lowering.
  // mma.sync m16n8k16 with f16 operands needs sm_80; f16 matmuls use the
  // same tensor-core kernel.
  tessera::TesseraLowerMpmmToParallelLoopsOptions mpmm;
  mpmm.mmaMinRows =
      computeCapability(options.chip) >= 80 ? options.mmaMinRows : 0;
  pm.addPass(tessera::createTesseraLowerMpmmToParallelLoops(mpmm));
  if (mpmm.mmaMinRows > 0) {
    tessera::TesseraLowerMatmulToMmaOptions matmul;
    matmul.minRows = mpmm.mmaMinRows;
    pm.addPass(tessera::createTesseraLowerMatmulToMma(matmul));
  }
  pm.addPass(tessera::createTesseraLowerToLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Buffers, without deallocation: tessera-place-buffers-on-gpu frees the
  // temporaries once they are device allocations.
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  pm.addPass(createConvertBufferizationToMemRefPass());

  // Every linalg op a parallel loop nest; its innermost dimension tiled
  // into blocks of threads (tiles padded, with a guard, so that the thread
  // counts are constants); blocks and threads from the mapping.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  tessera::TesseraTileParallelLoopsForGpuOptions tiling;
  tiling.threadsPerBlock = kThreadsPerBlock;
  pm.addNestedPass<func::FuncOp>(
      tessera::createTesseraTileParallelLoopsForGpu(tiling));
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(tessera::createTesseraPlaceBuffersOnGpu());
  // Constants and index arithmetic into the launches: outlined, a constant
  // defined outside would become a kernel parameter (divisions by it real
  // 64-bit divisions, shifts and masks by it unfoldable).
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(tessera::createTesseraSetKernelMinBlocks());
  // Outlining copies the shared-memory globals of kernels into their
  // gpu.module; the host's copies are then unused (and cannot be lowered).
  pm.addPass(createSymbolDCEPass());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());

  // Upstream's NVVM pipeline: NVVM, the binary (ptxas and fatbinary from the
  // CUDA toolkit), the host side as mgpu* calls.
  locateCudaToolkit();
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = options.features;
  nvvm.cubinFormat = options.format;
  nvvm.optLevel = options.optLevel;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

LogicalResult tessera::runCudaPipeline(ModuleOp module,
                                       const CudaPipelineOptions &options,
                                       std::string &error) {
  return runPipeline(
      module, "CUDA (" + options.chip + ")",
      [&](OpPassManager &pm) { buildCudaPipeline(pm, options); },
      options.crashReproducer, error);
}

void tessera::registerCudaPipeline() {
  PassPipelineRegistration<CudaPipelineCliOptions>(
      "tessera-cuda-pipeline",
      "Lower a module of Tessera, linalg, tensor and arith ops to the LLVM "
      "dialect with its kernels compiled for an NVIDIA GPU",
      [](OpPassManager &pm, const CudaPipelineCliOptions &cli) {
        CudaPipelineOptions options;
        options.chip = cli.chip;
        options.features = cli.features;
        options.format = cli.format;
        options.optLevel = cli.optLevel;
        options.mmaMinRows = cli.mmaMinRows;
        buildCudaPipeline(pm, options);
      });
}
