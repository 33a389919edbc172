//===- CpuPipeline.cpp - The Tessera CPU pipeline -------------------------===//
//
// Built in C++ rather than parsed from text, so that a program compiling with
// it (the JIT, the Python extension) needs no pass registration.
//
//===----------------------------------------------------------------------===//

#include "tessera/Pipelines/Pipelines.h"
#include "tessera/Passes.h"
#include "RunPipeline.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ConvertToLLVM/ToLLVMPass.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace {
/// The pipeline's options on the command line.
struct CpuPipelineCliOptions
    : public PassPipelineOptions<CpuPipelineCliOptions> {
  Option<int64_t> threads{
      *this, "threads",
      llvm::cl::desc("Threads for parallel loops: 1 serial code, 0 (default) "
                     "the runtime's thread count, N at most N"),
      llvm::cl::init(0)};
  Option<int64_t> vectorRegisters{
      *this, "vector-registers",
      llvm::cl::desc("Vector registers of the target: 16 (AVX2), 32 "
                     "(AVX-512); 0 (default) asks the host"),
      llvm::cl::init(0)};
  Option<std::string> mpmmStrategy{
      *this, "mpmm-strategy",
      llvm::cl::desc("Strategy of tessera.mpmm ops without one: dequantize "
                     "(default), auto (the heuristic; may pick int8-table "
                     "LUT), lut or lut_f32"),
      llvm::cl::init("dequantize")};
  Option<int64_t> lutLanes{
      *this, "lut-lanes",
      llvm::cl::desc("Bytes per byte shuffle for LUT kernels: 32 (AVX2), 64 "
                     "(AVX-512BW), 0 none; -1 (default) asks the host"),
      llvm::cl::init(-1)};
  Option<int64_t> lutBytePermute{
      *this, "lut-byte-permute",
      llvm::cl::desc("Whether the LUT kernel may use 64-byte permutes and "
                     "byte dot products (AVX512-VBMI, AVX512-VNNI): 1, 0; -1 "
                     "(default) asks the host"),
      llvm::cl::init(-1)};
  Option<int64_t> byteDots{*this, "byte-dots",
                           llvm::cl::desc("Whether the dequantize kernel's row kernels may "
                                          "multiply bytes (AVX512-VNNI): 1, 0; -1 (default) asks "
                                          "the host"),
                           llvm::cl::init(-1)};
  Option<bool> dequantizeLayouts{
      *this, "dequantize-layouts",
      llvm::cl::desc("Give dequantize-strategy weights the interleaved layout "
                     "the vector kernel reads fastest (default true; "
                     "arguments then take prepacked storage)"),
      llvm::cl::init(true)};
};
} // namespace

int64_t tessera::hostVectorRegisters() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  return features.lookup("avx512vl") ? 32 : 16;
}

int64_t tessera::hostLutLanes() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  return features.lookup("avx512bw") ? 64 : features.lookup("avx2") ? 32 : 0;
}

bool tessera::hostByteDots() { return llvm::sys::getHostCPUFeatures().lookup("avx512vnni"); }

bool tessera::hostLutBytePermute() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  return features.lookup("avx512vbmi") && features.lookup("avx512vnni");
}

static int64_t resolveLutLanes(const tessera::CpuPipelineOptions &options) {
  return options.lutLanes >= 0 ? options.lutLanes : tessera::hostLutLanes();
}

static bool resolveLutBytePermute(const tessera::CpuPipelineOptions &options) {
  return options.lutBytePermute >= 0 ? options.lutBytePermute != 0
                                     : tessera::hostLutBytePermute();
}

/// Whether the row kernels of the dequantize strategy multiply bytes
/// (AVX512-VNNI, 32 vector registers).
static bool resolveByteDots(const tessera::CpuPipelineOptions &options) {
  int64_t registers =
      options.vectorRegisters ? options.vectorRegisters : tessera::hostVectorRegisters();
  return registers >= 32 &&
         (options.byteDots >= 0 ? options.byteDots != 0 : tessera::hostByteDots());
}

/// Whether they also read 5-7 bit codes in tiles of 16 x 4 (byte permutes
/// and vpmultishiftqb: AVX512-VBMI).
static bool resolveByteTiles(const tessera::CpuPipelineOptions &options) {
  return resolveByteDots(options) && resolveLutBytePermute(options);
}

void tessera::buildAbiPipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options,
                               bool packBoundaries) {
  tessera::TesseraChooseMpmmStrategyOptions strategyOptions;
  strategyOptions.strategy = options.mpmmStrategy;
  strategyOptions.lutLanes = resolveLutLanes(options);
  strategyOptions.dequantizeLayouts = options.dequantizeLayouts;
  strategyOptions.byteTiles = resolveByteTiles(options);
  pm.addPass(tessera::createTesseraChooseMpmmStrategy(strategyOptions));
  pm.addPass(tessera::createTesseraExpandLutMpmm());
  tessera::TesseraAssignLutLayoutsOptions layoutOptions;
  layoutOptions.lanes = strategyOptions.lutLanes;
  layoutOptions.bytePermute = resolveLutBytePermute(options);
  pm.addPass(tessera::createTesseraAssignLutLayouts(layoutOptions));
  if (options.dequantizeLayouts) {
    tessera::TesseraAssignMpmmLayoutsOptions mpmmLayoutOptions;
    mpmmLayoutOptions.byteTiles = resolveByteTiles(options);
    pm.addPass(tessera::createTesseraAssignMpmmLayouts(mpmmLayoutOptions));
  }
  if (packBoundaries)
    pm.addPass(tessera::createTesseraPackFunctionBoundaries());
}

/// The vector kernels (Tessera ops that fit them; the reference lowering
/// takes the rest).
static void addVectorKernels(OpPassManager &pm,
                             const tessera::CpuPipelineOptions &options,
                             int64_t vectorRegisters) {
  // Threads' tiles (with elementwise consumers) through TilingInterface,
  // then the cache and register tiles of the vector kernel in each; the
  // packing of x the kernel makes in every tile is the same: hoisted.
  pm.addPass(tessera::createTesseraTileMpmm());
  tessera::TesseraLowerMpmmToVectorOptions vectorOptions;
  vectorOptions.vectorRegisters = vectorRegisters;
  // Byte dot products (AVX512-VNNI), and tiles of 16 x 4 (AVX512-VBMI too).
  vectorOptions.byteDots = resolveByteDots(options);
  vectorOptions.byteTiles = resolveByteTiles(options);
  pm.addPass(tessera::createTesseraLowerMpmmToVector(vectorOptions));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  tessera::TesseraLowerLutToVectorOptions lutOptions;
  lutOptions.lanes = resolveLutLanes(options);
  lutOptions.bytePermute = resolveLutBytePermute(options);
  pm.addPass(tessera::createTesseraLowerLutToVector(lutOptions));
  pm.addPass(tessera::createTesseraLowerLutTablesToVector());
  tessera::TesseraLowerMatmulToVectorOptions matmulOptions;
  matmulOptions.vectorRegisters = vectorRegisters;
  pm.addPass(tessera::createTesseraLowerMatmulToVector(matmulOptions));
  tessera::TesseraLowerMonarchToVectorOptions monarchOptions;
  monarchOptions.vectorRegisters = vectorRegisters;
  pm.addPass(tessera::createTesseraLowerMonarchToVector(monarchOptions));
  tessera::TesseraLowerBsrToVectorOptions bsrOptions;
  bsrOptions.vectorRegisters = vectorRegisters;
  pm.addPass(tessera::createTesseraLowerBsrToVector(bsrOptions));
}

void tessera::buildCpuPipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options) {
  // Tessera: choose each mpmm's strategy (LUT ops are explicit from here)
  // and the weights' layouts, fix the ABI of low-bit tensors, then lower to
  // linalg on tensors.
  buildAbiPipeline(pm, options);
  pm.addPass(tessera::createTesseraMarkInputsReadOnly());
  // Fused vector loops for the mpmm ops that fit; the rest, and every other
  // Tessera op, through the reference lowering.
  // Chains of elementwise ops become one linalg.generic, which the vector
  // lowering fuses into the tiles of the mpmm that feeds it.
  pm.addPass(createLinalgElementwiseOpFusionPass());
  tessera::TesseraLowerMpmmToVectorOptions vectorOptions;
  vectorOptions.vectorRegisters = options.vectorRegisters
                                      ? options.vectorRegisters
                                      : hostVectorRegisters();
  if (!options.referenceLowering)
    addVectorKernels(pm, options, vectorOptions.vectorRegisters);
  pm.addPass(tessera::createTesseraLowerToLinalg());
  // Elementwise arith/math ops on tensors become linalg.generic so that
  // they bufferize and lower like the rest.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Bufferize; results of public functions are returned as fresh buffers
  // with an identity layout, owned by the caller.
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Equal subviews made one, so that a copy of a tile onto itself (the
  // result of a loop over a tile written in place) folds away.
  pm.addPass(createCSEPass());

  // Loops, then the LLVM dialect.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // Transfers of more than one dimension (a tile of rows written at once)
  // unrolled into rows, which the LLVM lowering takes.
  pm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().setTargetRank(1).enableFullUnroll()));
  pm.addPass(createCanonicalizerPass());
  // Parallel loops: their bodies outlined, for the thread pool.
  tessera::TesseraOutlineParallelLoopsOptions outlineOptions;
  outlineOptions.threads = options.threads;
  pm.addPass(tessera::createTesseraOutlineParallelLoops(outlineOptions));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(tessera::createTesseraLowerX86ByteOps());
  pm.addPass(createConvertVectorToLLVMPass());
  // Buffers through the runtime's allocator, which keeps large blocks for
  // reuse (lib/Runtime/Allocator.c).
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  tessera::TesseraLowerParallelCallsOptions parallelOptions;
  parallelOptions.threads = options.threads;
  pm.addPass(tessera::createTesseraLowerParallelCalls(parallelOptions));
}

LogicalResult tessera::runCpuPipeline(ModuleOp module,
                                      const CpuPipelineOptions &options,
                                      std::string &error) {
  return runPipeline(
      module, "CPU",
      [&](OpPassManager &pm) { buildCpuPipeline(pm, options); },
      options.crashReproducer, error);
}

void tessera::registerCpuPipeline() {
  PassPipelineRegistration<CpuPipelineCliOptions>(
      "tessera-cpu-pipeline",
      "Lower a module of Tessera, linalg, tensor and arith ops to the LLVM "
      "dialect for the host CPU",
      [](OpPassManager &pm, const CpuPipelineCliOptions &cli) {
        CpuPipelineOptions options;
        options.threads = cli.threads;
        options.vectorRegisters = cli.vectorRegisters;
        options.mpmmStrategy = cli.mpmmStrategy;
        options.lutLanes = cli.lutLanes;
        options.lutBytePermute = cli.lutBytePermute;
        options.byteDots = cli.byteDots;
        options.dequantizeLayouts = cli.dequantizeLayouts;
        buildCpuPipeline(pm, options);
      });
}
